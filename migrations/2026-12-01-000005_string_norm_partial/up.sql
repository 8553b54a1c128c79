-- PHI string rows keep only blind indexes and leave value_norm NULL (about
-- eight of a Patient's nine string rows), yet idx_string_norm indexed them all:
-- one btree entry per PHI value that no search can use. Every search through
-- this index compares value_norm with a strict operator (=, LIKE), which
-- implies value_norm IS NOT NULL, so the planner still uses the partial index
-- (https://www.postgresql.org/docs/15/indexes-partial.html).
DROP INDEX idx_string_norm;
CREATE INDEX idx_string_norm ON idx_string (tenant_id, resource_type, param, value_norm text_pattern_ops)
    WHERE value_norm IS NOT NULL;
