DROP TABLE auth_revocations, auth_launches, auth_assertion_jtis, auth_refresh_tokens,
    auth_codes, auth_grants, auth_login_failures, auth_users, auth_clients, auth_signing_keys;
