-- Free text is PHI (issue #15): the text `:text` searches (CodeableConcept.text,
-- Coding.display, Identifier.type.text) and Quantity.unit were kept readable
-- in the index (idx_token.text_norm, idx_quantity.unit). They are kept as blind
-- indexes instead (store/index/phi.rs): text as the concatenated 8-byte digests
-- of every word prefix, the unit as one 16-byte digest. Before the next
-- migration drops the readable columns, the gateway fills these from them
-- (store/index/backfill.rs), since only it holds the keys.
ALTER TABLE idx_token ADD COLUMN text_bis bytea;
ALTER TABLE idx_quantity ADD COLUMN unit_bi bytea;
