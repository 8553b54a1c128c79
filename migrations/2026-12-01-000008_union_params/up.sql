-- Observation's combo-* search parameters are unions of two others each
-- (combo-code = code | component-code, ...; crates/fhirgate-search/src/unions.rs):
-- they are no longer indexed under their own names, and a search on them reads
-- their parts' rows. The rows written for them before are never read again;
-- they were 31% of an HL7 Observation's index rows (docs/performance.md).
DELETE FROM idx_token
 WHERE resource_type = 'Observation'
   AND param IN ('combo-code', 'combo-data-absent-reason', 'combo-value-concept');
DELETE FROM idx_quantity
 WHERE resource_type = 'Observation' AND param = 'combo-value-quantity';
DELETE FROM idx_composite
 WHERE resource_type = 'Observation'
   AND param IN ('combo-code-value-concept', 'combo-code-value-quantity');
UPDATE idx_keys
   SET keys = ARRAY(SELECT k FROM unnest(keys) AS k WHERE k NOT LIKE 'Observation|combo-%')
 WHERE resource_type = 'Observation'
   AND EXISTS (SELECT 1 FROM unnest(keys) AS k WHERE k LIKE 'Observation|combo-%');
