-- Every HL7 v2 message received over MLLP, stored before its ACK is sent
-- (issue #5): the raw message sealed like any PHI, its outcome, and the ACK we
-- answered with, so that a resent message gets the original ACK back.
CREATE TABLE hl7_messages (
    tenant_id    text        NOT NULL,
    id           text        NOT NULL,   -- server id (UUIDv7, time-ordered)
    received_at  timestamptz NOT NULL,
    -- MSH-3 and MSH-4 (sending application and facility) as sent, joined by '|':
    -- the namespace MSH-10 is unique in (HL7 v2.5.1 section 2.15.9.10).
    sender       text        NOT NULL,
    control_id   text        NOT NULL,   -- MSH-10 ('' when it could not be read)
    message_type text        NOT NULL,   -- MSH-9.1^MSH-9.2, e.g. ORU^R01
    peer         text,                   -- the sender's network address
    key_id       integer     NOT NULL,
    raw          bytea       NOT NULL,   -- sealed raw message (AAD: Hl7Message/id)
    ack_code     text        NOT NULL CHECK (ack_code IN ('AA', 'AE', 'AR')),
    ack          bytea       NOT NULL,   -- sealed ACK as sent (AAD: Hl7Ack/id)
    -- Readable reason of an AE/AR, never PHI (built from codes and locations).
    error        text,
    -- Set by `fhirgate hl7 replay`: when and with what result it was re-applied.
    replayed_at  timestamptz,
    replay_code  text        CHECK (replay_code IN ('AA', 'AE', 'AR')),
    PRIMARY KEY (tenant_id, id)
);
-- At most one accepted message per sender and control id: the duplicate check
-- of issue #5, and what makes two racing deliveries of one message apply once.
CREATE UNIQUE INDEX hl7_messages_accepted ON hl7_messages (tenant_id, sender, control_id)
    WHERE ack_code = 'AA';
CREATE INDEX hl7_messages_received ON hl7_messages (tenant_id, received_at);

-- What was received and answered is evidence: only the replay columns and a
-- key rotation's re-encryption may change, and rows are never deleted.
CREATE FUNCTION fhirgate_hl7_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'hl7_messages is append-only' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (NEW.tenant_id, NEW.id, NEW.received_at, NEW.sender, NEW.control_id, NEW.message_type,
        NEW.peer, NEW.ack_code, NEW.error)
       IS DISTINCT FROM
       (OLD.tenant_id, OLD.id, OLD.received_at, OLD.sender, OLD.control_id, OLD.message_type,
        OLD.peer, OLD.ack_code, OLD.error) THEN
        RAISE EXCEPTION 'hl7_messages rows may only record a replay or be re-encrypted'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER hl7_messages_guard BEFORE UPDATE OR DELETE ON hl7_messages
    FOR EACH ROW EXECUTE FUNCTION fhirgate_hl7_guard();
