-- The plaintext cannot be recovered from the digests: `:text` and `||unit`
-- searches on rows written before this migration need a re-index.
ALTER TABLE idx_token ADD COLUMN text_norm text;
ALTER TABLE idx_quantity ADD COLUMN unit text;
