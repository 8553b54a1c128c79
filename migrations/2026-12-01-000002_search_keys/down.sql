DROP TABLE idx_keys;
