DROP INDEX audit_events_terms;
ALTER TABLE audit_events DROP COLUMN terms;
