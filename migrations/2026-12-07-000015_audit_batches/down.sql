DROP FUNCTION fhirgate_insert_audit(text[], text[], timestamptz[], int4[], bytea[], text[], text[], text[], text[], text[], text[], text[], text[], text[]);
