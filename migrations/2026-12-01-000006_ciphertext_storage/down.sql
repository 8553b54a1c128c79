ALTER TABLE audit_events ALTER COLUMN body SET STORAGE EXTENDED;
ALTER TABLE audit_events RESET (toast_tuple_target);
ALTER TABLE resource_versions ALTER COLUMN body SET STORAGE EXTENDED;
ALTER TABLE resource_versions RESET (toast_tuple_target);
ALTER TABLE hl7_messages ALTER COLUMN raw SET STORAGE EXTENDED;
ALTER TABLE hl7_messages ALTER COLUMN ack SET STORAGE EXTENDED;
ALTER TABLE hl7_messages RESET (toast_tuple_target);
