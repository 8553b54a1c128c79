DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY[
        'data_keys', 'resource_versions', 'resources', 'audit_events',
        'idx_string', 'idx_token', 'idx_date', 'idx_reference', 'idx_quantity',
        'idx_number', 'idx_uri', 'idx_composite', 'idx_keys',
        'appointment_bookings', 'hl7_messages',
        'auth_signing_keys', 'auth_clients', 'auth_users', 'auth_login_failures',
        'auth_grants', 'auth_codes', 'auth_refresh_tokens', 'auth_assertion_jtis',
        'auth_launches', 'auth_revocations'
    ] LOOP
        EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %I', t);
        EXECUTE format('ALTER TABLE %I NO FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I DISABLE ROW LEVEL SECURITY', t);
    END LOOP;
END $$;
DROP TABLE tenants;
