CREATE OR REPLACE FUNCTION fhirgate_hl7_guard() RETURNS trigger LANGUAGE plpgsql AS $$
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
ALTER TABLE hl7_messages DROP COLUMN digest;
