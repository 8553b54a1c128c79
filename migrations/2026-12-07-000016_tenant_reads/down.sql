DROP FUNCTION fhirgate_read_current(text, text, text);
