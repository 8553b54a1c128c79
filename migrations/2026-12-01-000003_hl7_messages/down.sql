DROP TABLE hl7_messages;
DROP FUNCTION fhirgate_hl7_guard();
