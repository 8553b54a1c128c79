-- Ciphertext does not compress, yet PostgreSQL tried: a row over ~2 kB (an
-- AuditEvent row with its arrays, a large resource version) went through the
-- toaster, which ran pglz over the encrypted body, failed to shrink it, and then
-- moved it to the TOAST table (pglz_compress was 4% of PostgreSQL's time under
-- read load, whose AuditEvents the audit writer inserts; docs/performance.md).
-- STORAGE EXTERNAL: out of line when it must move, never compressed;
-- toast_tuple_target 8160: rows up to a whole page stay inline, so the usual
-- row is written once, with no TOAST row and TOAST index entry besides
-- (https://www.postgresql.org/docs/15/storage-toast.html,
-- https://www.postgresql.org/docs/15/sql-createtable.html#RELOPTION-TOAST-TUPLE-TARGET).
ALTER TABLE audit_events ALTER COLUMN body SET STORAGE EXTERNAL;
ALTER TABLE audit_events SET (toast_tuple_target = 8160);
ALTER TABLE resource_versions ALTER COLUMN body SET STORAGE EXTERNAL;
ALTER TABLE resource_versions SET (toast_tuple_target = 8160);
ALTER TABLE hl7_messages ALTER COLUMN raw SET STORAGE EXTERNAL;
ALTER TABLE hl7_messages ALTER COLUMN ack SET STORAGE EXTERNAL;
ALTER TABLE hl7_messages SET (toast_tuple_target = 8160);
