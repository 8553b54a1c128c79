-- Search terms for the R4 AuditEvent search parameters that have no projected
-- column (http://hl7.org/fhir/R4/auditevent.html#search: agent-name, agent-role,
-- altid, entity-name, entity-role, entity-type, policy, site, source). One text
-- key per value, `<param>|<kind>|<value>` (src/audit/terms.rs lists the kinds),
-- so a search is one GIN lookup (`terms @> ARRAY[..]`) and a whole AuditEvent is
-- still one row. PHI parameters (agent-name, entity-name, altid) are stored only
-- as hex blind indexes, never as text.
--
-- Adding a column with a constant default rewrites no rows (and so fires no
-- row trigger on this append-only table); earlier AuditEvents get '{}'.
ALTER TABLE audit_events ADD COLUMN terms text[] NOT NULL DEFAULT '{}';
CREATE INDEX audit_events_terms ON audit_events USING gin (terms);
