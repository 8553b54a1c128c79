-- A PHI string row carries two blind indexes, of the value as written
-- (exact_bi, for :exact) and of its folded form (norm_bi, for whole-value and
-- phonetic matches), and each had its own btree: two random-order inserts per
-- PHI value (seven of a Patient's nine string rows), each a likely full-page
-- image in the WAL after a checkpoint. A value that matches exactly also
-- matches folded, so :exact now compares both columns (fhir/search/leaf.rs) and
-- one index on (norm_bi, exact_bi) answers both kinds of search.
DROP INDEX idx_string_exact_bi;
DROP INDEX idx_string_norm_bi;
CREATE INDEX idx_string_bi ON idx_string (tenant_id, resource_type, param, norm_bi, exact_bi)
    WHERE norm_bi IS NOT NULL;
-- Only `fhirgate keys list` counted by key (re-encryption looks for rows NOT
-- under the active key, which a btree cannot serve), and every stored version
-- paid for this index.
DROP INDEX resource_versions_by_key;
