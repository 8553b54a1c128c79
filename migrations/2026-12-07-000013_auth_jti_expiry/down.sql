DROP INDEX IF EXISTS auth_assertion_jtis_expiry;
