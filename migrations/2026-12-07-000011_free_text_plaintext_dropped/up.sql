-- The readable free text of the index goes (issue #15). Runs only after the
-- gateway has filled text_bis and unit_bi from these columns
-- (store/bootstrap.rs runs the backfill before this migration). Dropping a
-- column leaves its old values in the table's pages until they are rewritten;
-- VACUUM FULL idx_token, idx_quantity after this migration removes them from
-- disk (docs/security.md).
ALTER TABLE idx_token DROP COLUMN text_norm;
ALTER TABLE idx_quantity DROP COLUMN unit;
