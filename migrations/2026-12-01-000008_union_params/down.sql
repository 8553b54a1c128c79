-- The deleted rows were derived data and cannot be rebuilt in SQL (index
-- values come from the resources, which are encrypted). A build from before
-- 000008 would not find Observations by combo-* until they are written again.
SELECT 1;
