DROP INDEX idx_string_norm;
CREATE INDEX idx_string_norm ON idx_string (tenant_id, resource_type, param, value_norm text_pattern_ops);
