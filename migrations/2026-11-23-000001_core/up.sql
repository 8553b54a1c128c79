-- fhirgate core schema.
--
-- Every table carries tenant_id and has it first in its primary key (or, for the
-- index tables that have no natural key, first in every index), so a sharded
-- deployment that distributes by tenant (Citus `create_distributed_table(.., 'tenant_id')`)
-- needs no schema change.
--
-- No PHI is stored in plaintext: resource bodies and audit bodies are AES-256-GCM
-- ciphertexts (see src/crypto), PHI index values are keyed HMAC blind indexes
-- (`*_bi` columns), and docs/security.md lists what each index column reveals.

-- btree_gist lets one GiST exclusion constraint mix equality on text columns with
-- range overlap (appointment_bookings below). It is a trusted extension (PG13+),
-- so the database owner may create it.
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- Envelope encryption: data keys wrapped by the master key (KEK), never stored in
-- the clear. purpose 'data' encrypts bodies; 'index' is the root of the blind-index
-- keys. Keys are never deleted while anything may still be encrypted under them.
CREATE TABLE data_keys (
    tenant_id   text        NOT NULL,
    key_id      integer     NOT NULL,
    purpose     text        NOT NULL CHECK (purpose IN ('data', 'index')),
    kek_id      text        NOT NULL,
    wrapped     bytea       NOT NULL,
    active      boolean     NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, key_id)
);
CREATE UNIQUE INDEX data_keys_one_active ON data_keys (tenant_id, purpose) WHERE active;

-- Every version of every resource, append-only (http://hl7.org/fhir/R4/http.html#history).
-- A delete is a tombstone version (body NULL). The only permitted UPDATE is
-- re-encryption by key rotation (key_id and body change, nothing else); DELETE is refused.
CREATE TABLE resource_versions (
    tenant_id     text        NOT NULL,
    resource_type text        NOT NULL,
    id            text        NOT NULL,
    version_id    integer     NOT NULL CHECK (version_id > 0),
    last_updated  timestamptz NOT NULL,
    method        text        NOT NULL CHECK (method IN ('POST', 'PUT', 'DELETE', 'PATCH')),
    key_id        integer,
    body          bytea,
    PRIMARY KEY (tenant_id, resource_type, id, version_id),
    CHECK ((method = 'DELETE') = (body IS NULL)),
    CHECK ((body IS NULL) = (key_id IS NULL))
);
CREATE INDEX resource_versions_type_history ON resource_versions (tenant_id, resource_type, last_updated DESC);
CREATE INDEX resource_versions_system_history ON resource_versions (tenant_id, last_updated DESC);
CREATE INDEX resource_versions_by_key ON resource_versions (tenant_id, key_id);

CREATE FUNCTION fhirgate_versions_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'resource_versions is append-only' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (NEW.tenant_id, NEW.resource_type, NEW.id, NEW.version_id, NEW.last_updated, NEW.method)
       IS DISTINCT FROM
       (OLD.tenant_id, OLD.resource_type, OLD.id, OLD.version_id, OLD.last_updated, OLD.method)
       OR (NEW.body IS NULL) <> (OLD.body IS NULL) THEN
        RAISE EXCEPTION 'resource_versions rows may only be re-encrypted' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER resource_versions_append_only BEFORE UPDATE OR DELETE ON resource_versions
    FOR EACH ROW EXECUTE FUNCTION fhirgate_versions_guard();

-- The current version of each resource: one row per logical id.
CREATE TABLE resources (
    tenant_id     text        NOT NULL,
    resource_type text        NOT NULL,
    id            text        NOT NULL,
    version_id    integer     NOT NULL,
    last_updated  timestamptz NOT NULL,
    deleted       boolean     NOT NULL,
    PRIMARY KEY (tenant_id, resource_type, id)
);
-- Only the primary key: a second index led by (tenant_id, resource_type) was
-- chosen for read-by-id while the table's statistics were stale (a fresh, never
-- analysed table), turning every read into a scan of the type's entries.

-- AuditEvents (IHE BALP). Append-only, enforced by the database itself: no UPDATE,
-- DELETE or TRUNCATE, whoever asks. Bodies are encrypted like any PHI.
--
-- Unlike client resources, AuditEvents are not indexed through the generic idx_*
-- tables: the server writes every one of them, in one fixed shape, once per
-- interaction, so they are by far the most written rows. Their search parameters
-- are projected into columns of this table instead (one row, a few index entries,
-- rather than ~25 index rows per event). None of these columns is PHI: codes,
-- the server's own resource references, and the client system's network address.
CREATE TABLE audit_events (
    tenant_id  text        NOT NULL,
    id         text        NOT NULL,
    recorded   timestamptz NOT NULL,
    key_id     integer     NOT NULL,
    body       bytea       NOT NULL,
    type_code  text        NOT NULL,   -- type (audit-event-type)
    subtype    text        NOT NULL,   -- subtype (restful-interaction)
    action     text        NOT NULL,   -- action (C R U D E)
    outcome    text        NOT NULL,   -- outcome (0 4 8 12)
    entities   text[]      NOT NULL,   -- entity.what, as Type/id (no version)
    patients   text[]      NOT NULL,   -- patient: the Patient references among agents and entities
    agents     text[]      NOT NULL,   -- agent.who references
    address    text,                   -- agent.network.address of the client
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_events_recorded ON audit_events (tenant_id, recorded DESC);
CREATE INDEX audit_events_patients ON audit_events USING gin (patients);
CREATE INDEX audit_events_entities ON audit_events USING gin (entities);

CREATE FUNCTION fhirgate_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION fhirgate_refuse_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION fhirgate_refuse_change();

-- Search index tables, one per FHIR search parameter type
-- (http://hl7.org/fhir/R4/search.html#ptypes), generic over resource type and
-- parameter so a new resource type is added by data (its SearchParameter
-- definitions), not by new tables. Rows describe the current version only.
-- PHI-bearing values are stored only as blind indexes (*_bi, HMAC-SHA-256 truncated
-- to 16 bytes, key derived per tenant, resource type, parameter and purpose).

CREATE TABLE idx_string (
    tenant_id     text  NOT NULL,
    resource_type text  NOT NULL,
    resource_id   text  NOT NULL,
    param         text  NOT NULL,
    value_norm    text,          -- non-PHI: case- and accent-folded value (default match, :contains)
    value_exact   text,          -- non-PHI: value as sent (:exact)
    exact_bi      bytea,         -- PHI: blind index of the exact value
    norm_bi       bytea,         -- PHI: blind index of the folded whole value (phonetic: of its Soundex code)
    prefix_bis    bytea[]        -- PHI: 8-byte blind index of every prefix of the folded value, lengths 1..=32
);
CREATE INDEX idx_string_norm ON idx_string (tenant_id, resource_type, param, value_norm text_pattern_ops);
CREATE INDEX idx_string_exact_bi ON idx_string (tenant_id, resource_type, param, exact_bi) WHERE exact_bi IS NOT NULL;
CREATE INDEX idx_string_norm_bi ON idx_string (tenant_id, resource_type, param, norm_bi) WHERE norm_bi IS NOT NULL;
-- Starts-with matching on PHI strings without plaintext. GIN (with its pending-list
-- fast update) takes the ~10-30 prefix keys of a value as one cheap insert; the
-- blind-index keys are derived per tenant, type and parameter, so a key matches
-- only its own column.
CREATE INDEX idx_string_prefix_bis ON idx_string USING gin (prefix_bis) WHERE prefix_bis IS NOT NULL;
CREATE INDEX idx_string_res ON idx_string (tenant_id, resource_type, resource_id);

CREATE TABLE idx_token (
    tenant_id     text  NOT NULL,
    resource_type text  NOT NULL,
    resource_id   text  NOT NULL,
    param         text  NOT NULL,
    system        text,          -- code system / identifier namespace URI (not PHI)
    code          text,          -- non-PHI code
    code_bi       bytea,         -- PHI (identifier values, telecom): blind index of the code
    text_norm     text           -- non-PHI: folded display / CodeableConcept.text (:text)
);
CREATE INDEX idx_token_code ON idx_token (tenant_id, resource_type, param, code, system);
CREATE INDEX idx_token_bi ON idx_token (tenant_id, resource_type, param, code_bi) WHERE code_bi IS NOT NULL;
CREATE INDEX idx_token_res ON idx_token (tenant_id, resource_type, resource_id);

CREATE TABLE idx_date (
    tenant_id     text        NOT NULL,
    resource_type text        NOT NULL,
    resource_id   text        NOT NULL,
    param         text        NOT NULL,
    low           timestamptz,   -- non-PHI: inclusive range implied by the value's precision
    high          timestamptz,
    value_bi      bytea          -- PHI dates (birthDate): blind index per precision (YYYY, YYYY-MM, YYYY-MM-DD)
);
CREATE INDEX idx_date_range ON idx_date (tenant_id, resource_type, param, low, high);
CREATE INDEX idx_date_bi ON idx_date (tenant_id, resource_type, param, value_bi) WHERE value_bi IS NOT NULL;
CREATE INDEX idx_date_res ON idx_date (tenant_id, resource_type, resource_id);

CREATE TABLE idx_reference (
    tenant_id     text  NOT NULL,
    resource_type text  NOT NULL,
    resource_id   text  NOT NULL,
    param         text  NOT NULL,
    target_type   text,
    target_id     text,
    target_version text,
    url           text,          -- absolute or canonical references as written
    ident_system  text,          -- Reference.identifier (for :identifier)
    ident_bi      bytea
);
CREATE INDEX idx_reference_target ON idx_reference (tenant_id, resource_type, param, target_id, target_type);
CREATE INDEX idx_reference_rev ON idx_reference (tenant_id, target_type, target_id);
CREATE INDEX idx_reference_res ON idx_reference (tenant_id, resource_type, resource_id);

CREATE TABLE idx_quantity (
    tenant_id     text    NOT NULL,
    resource_type text    NOT NULL,
    resource_id   text    NOT NULL,
    param         text    NOT NULL,
    value         numeric NOT NULL,
    system        text,
    code          text,
    unit          text
);
CREATE INDEX idx_quantity_value ON idx_quantity (tenant_id, resource_type, param, code, value);
CREATE INDEX idx_quantity_res ON idx_quantity (tenant_id, resource_type, resource_id);

CREATE TABLE idx_number (
    tenant_id     text    NOT NULL,
    resource_type text    NOT NULL,
    resource_id   text    NOT NULL,
    param         text    NOT NULL,
    value         numeric NOT NULL
);
CREATE INDEX idx_number_value ON idx_number (tenant_id, resource_type, param, value);
CREATE INDEX idx_number_res ON idx_number (tenant_id, resource_type, resource_id);

CREATE TABLE idx_uri (
    tenant_id     text NOT NULL,
    resource_type text NOT NULL,
    resource_id   text NOT NULL,
    param         text NOT NULL,
    uri           text NOT NULL
);
CREATE INDEX idx_uri_value ON idx_uri (tenant_id, resource_type, param, uri);
CREATE INDEX idx_uri_res ON idx_uri (tenant_id, resource_type, resource_id);

-- Composite parameters (search.html#composite). Every R4 composite on the served
-- types is a token followed by one more value, taken from the same element.
CREATE TABLE idx_composite (
    tenant_id     text        NOT NULL,
    resource_type text        NOT NULL,
    resource_id   text        NOT NULL,
    param         text        NOT NULL,
    c1_system     text,
    c1_code       text,
    c2_system     text,
    c2_code       text,
    c2_value      numeric,
    c2_low        timestamptz,
    c2_high       timestamptz,
    c2_text       text
);
CREATE INDEX idx_composite_c1 ON idx_composite (tenant_id, resource_type, param, c1_code, c2_code);
CREATE INDEX idx_composite_res ON idx_composite (tenant_id, resource_type, resource_id);

-- Double-booking rule: a booked / arrived / checked-in Appointment may not overlap
-- another such Appointment of the same Practitioner. Enforced here, not in the
-- application, so it holds across concurrent requests and gateway processes.
CREATE TABLE appointment_bookings (
    tenant_id      text      NOT NULL,
    appointment_id text      NOT NULL,
    practitioner   text      NOT NULL,
    period         tstzrange NOT NULL,
    PRIMARY KEY (tenant_id, appointment_id, practitioner),
    CONSTRAINT appointment_no_double_booking
        EXCLUDE USING gist (tenant_id WITH =, practitioner WITH =, period WITH &&)
);
