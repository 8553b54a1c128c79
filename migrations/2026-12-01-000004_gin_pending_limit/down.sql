ALTER INDEX idx_keys_gin RESET (gin_pending_list_limit);
ALTER INDEX idx_string_prefix_bis RESET (gin_pending_list_limit);
