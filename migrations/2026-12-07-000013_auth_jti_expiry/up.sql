-- Every client_credentials grant first deletes its tenant's expired client
-- assertion ids (store/auth/grants.rs first_use_of_jti). Without an index on
-- the expiry, that DELETE read every row kept, one per grant of the last six
-- minutes: at issue #17's 500 grants/s, some 180,000 rows per grant
-- (docs/performance.md).
CREATE INDEX auth_assertion_jtis_expiry ON auth_assertion_jtis (tenant_id, expires_at);
