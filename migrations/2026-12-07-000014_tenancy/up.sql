-- Multi-clinic tenancy (issue #18).
--
-- The tenants themselves: server-level, not tenant data (no row-level
-- security; the serving role may only read it, `fhirgate tenants` writes it
-- as the owner). Rates are per-tenant overrides of the server's defaults
-- (NULL: the default).
CREATE TABLE tenants (
    id                   text        PRIMARY KEY,
    name                 text        NOT NULL,
    disabled             boolean     NOT NULL DEFAULT false,
    created_at           timestamptz NOT NULL DEFAULT now(),
    rate_per_sec         double precision,
    burst                double precision,
    client_rate_per_sec  double precision,
    client_burst         double precision,
    hl7_queue            integer
);
INSERT INTO tenants (id, name) VALUES ('default', 'Default clinic');
-- The server's own scope: HL7 messages no tenant claims and the audit trail
-- of tenant administration are kept under it (never served over HTTP).
INSERT INTO tenants (id, name, disabled) VALUES ('_server', 'Server-level records', true);

-- Row-level security on every table that holds a tenant's rows
-- (https://www.postgresql.org/docs/15/ddl-rowsecurity.html). FORCE makes the
-- table's owner subject to it too; superusers and BYPASSRLS roles never are,
-- so the gateway serves through a role that is neither (store/bootstrap.rs).
-- `current_setting(.., true)` is NULL where a session never set the tenant:
-- such a session sees no row and can write none. The gateway sets it per
-- transaction with set_config('app.tenant', .., true) (store/pool.rs).
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY[
        'data_keys', 'resource_versions', 'resources', 'audit_events',
        'idx_string', 'idx_token', 'idx_date', 'idx_reference', 'idx_quantity',
        'idx_number', 'idx_uri', 'idx_composite', 'idx_keys',
        'appointment_bookings', 'hl7_messages',
        'auth_signing_keys', 'auth_clients', 'auth_users', 'auth_login_failures',
        'auth_grants', 'auth_codes', 'auth_refresh_tokens', 'auth_assertion_jtis',
        'auth_launches', 'auth_revocations'
    ] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I '
            'USING (tenant_id = current_setting(''app.tenant'', true)) '
            'WITH CHECK (tenant_id = current_setting(''app.tenant'', true))', t);
    END LOOP;
END $$;
