-- GIN indexes put new entries in a pending list that every search of the index
-- reads in full, and that is only merged into the index when it passes
-- gin_pending_list_limit (4 MB by default) or at vacuum
-- (https://www.postgresql.org/docs/15/gin-implementation.html#GIN-FAST-UPDATE).
-- idx_keys answers the lookups of conditional interactions (ifNoneExist,
-- conditional update, conditional references) right after writes: measured on
-- the HL7 benchmark, a 3.7 MB pending list made each such lookup read ~460
-- pages, and made the planner prefer a sequential scan. A small list keeps the
-- merge work in small, frequent steps and searches cheap. The audit GIN indexes
-- keep the default: they take a write per interaction and are searched rarely.
ALTER INDEX idx_keys_gin SET (gin_pending_list_limit = 128);
ALTER INDEX idx_string_prefix_bis SET (gin_pending_list_limit = 128);
