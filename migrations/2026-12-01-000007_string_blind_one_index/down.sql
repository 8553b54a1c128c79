CREATE INDEX resource_versions_by_key ON resource_versions (tenant_id, key_id);
DROP INDEX idx_string_bi;
CREATE INDEX idx_string_exact_bi ON idx_string (tenant_id, resource_type, param, exact_bi) WHERE exact_bi IS NOT NULL;
CREATE INDEX idx_string_norm_bi ON idx_string (tenant_id, resource_type, param, norm_bi) WHERE norm_bi IS NOT NULL;
