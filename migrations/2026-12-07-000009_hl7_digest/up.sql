-- The digest of each HL7 v2 message's content (issue #15): a control id already
-- accepted from a sender is answered with the original ACK only when the message
-- is the same one; another message under it gets AE. HMAC-SHA-256 under the
-- tenant's index key of the message's resend form (fhirgate_hl7::resend_form:
-- MSH-7 and segment terminators left out), so it reveals only which rows hold
-- the same message. Rows stored before this migration have none; the gateway
-- then compares their sealed raw message (src/hl7/ingest.rs).
ALTER TABLE hl7_messages ADD COLUMN digest bytea;

-- The digest is part of the evidence: as immutable as the rest of the row.
CREATE OR REPLACE FUNCTION fhirgate_hl7_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'hl7_messages is append-only' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (NEW.tenant_id, NEW.id, NEW.received_at, NEW.sender, NEW.control_id, NEW.message_type,
        NEW.peer, NEW.ack_code, NEW.error, NEW.digest)
       IS DISTINCT FROM
       (OLD.tenant_id, OLD.id, OLD.received_at, OLD.sender, OLD.control_id, OLD.message_type,
        OLD.peer, OLD.ack_code, OLD.error, OLD.digest) THEN
        RAISE EXCEPTION 'hl7_messages rows may only record a replay or be re-encrypted'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
