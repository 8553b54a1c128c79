ALTER TABLE idx_token DROP COLUMN text_bis;
ALTER TABLE idx_quantity DROP COLUMN unit_bi;
