-- Issue #17: the built-in SMART on FHIR authorization server
-- (https://hl7.org/fhir/smart-app-launch/STU2/). tenant_id first in every key,
-- like every other table. No secret is stored in the clear: signing keys are
-- sealed under the master key, passwords are argon2id PHC strings, and codes
-- and refresh tokens are stored as SHA-256 digests only.

-- Signing keys (RS256). The active key signs; a retired key is still
-- published in the JWKS until publish_until, when its last token has expired.
CREATE TABLE auth_signing_keys (
    tenant_id      text        NOT NULL,
    kid            text        NOT NULL,
    alg            text        NOT NULL,
    sealed_private bytea       NOT NULL,
    public_jwk     jsonb       NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    retired_at     timestamptz,
    publish_until  timestamptz,
    PRIMARY KEY (tenant_id, kid)
);
CREATE UNIQUE INDEX auth_signing_keys_one_active ON auth_signing_keys (tenant_id) WHERE retired_at IS NULL;

-- OAuth clients (RFC 6749 section 2): public apps (PKCE only), confidential
-- apps (client secret), backend services (private_key_jwt with keys by value).
CREATE TABLE auth_clients (
    tenant_id     text        NOT NULL,
    client_id     text        NOT NULL,
    name          text        NOT NULL,
    kind          text        NOT NULL CHECK (kind IN ('public', 'confidential', 'backend')),
    secret_hash   text,
    redirect_uris text[]      NOT NULL DEFAULT '{}',
    jwks          jsonb,
    scopes        text        NOT NULL,
    disabled      boolean     NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, client_id)
);

-- People who log in at the authorization server's login page.
CREATE TABLE auth_users (
    tenant_id     text        NOT NULL,
    username      text        NOT NULL,
    password_hash text        NOT NULL,
    role          text        NOT NULL,
    fhir_user     text,
    disabled      boolean     NOT NULL DEFAULT false,
    failed_logins integer     NOT NULL DEFAULT 0,
    locked_until  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, username)
);

-- Failed logins per client address (the per-account count is on auth_users).
CREATE TABLE auth_login_failures (
    tenant_id    text        NOT NULL,
    address      text        NOT NULL,
    failures     integer     NOT NULL DEFAULT 0,
    window_start timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz,
    PRIMARY KEY (tenant_id, address)
);

-- One authorization: what a user (or a backend client) granted a client, with
-- its launch context. Codes, refresh tokens and access tokens belong to one;
-- revoking it (a replayed code, a reused refresh token, RFC 7009 revocation)
-- ends them all.
CREATE TABLE auth_grants (
    tenant_id   text        NOT NULL,
    grant_id    text        NOT NULL,
    client_id   text        NOT NULL,
    username    text,
    scopes      text        NOT NULL,
    context     jsonb       NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    PRIMARY KEY (tenant_id, grant_id)
);

-- Authorization codes (RFC 6749 4.1.2: short-lived, single use) with their
-- PKCE challenge (RFC 7636, S256 only).
CREATE TABLE auth_codes (
    tenant_id      text        NOT NULL,
    code_hash      bytea       NOT NULL,
    grant_id       text        NOT NULL,
    redirect_uri   text        NOT NULL,
    code_challenge text        NOT NULL,
    nonce          text,
    expires_at     timestamptz NOT NULL,
    used_at        timestamptz,
    PRIMARY KEY (tenant_id, code_hash)
);

-- Refresh tokens, rotated on use (a used one presented again revokes its grant).
CREATE TABLE auth_refresh_tokens (
    tenant_id  text        NOT NULL,
    token_hash bytea       NOT NULL,
    grant_id   text        NOT NULL,
    scopes     text        NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    PRIMARY KEY (tenant_id, token_hash)
);

-- Client assertion ids seen (Backend Services: a jti may not be reused within
-- the assertion's lifetime).
CREATE TABLE auth_assertion_jtis (
    tenant_id  text        NOT NULL,
    client_id  text        NOT NULL,
    jti        text        NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, client_id, jti)
);

-- EHR launch contexts (`launch` parameter): opaque id -> patient, encounter.
CREATE TABLE auth_launches (
    tenant_id  text        NOT NULL,
    launch_id  text        NOT NULL,
    patient    text        NOT NULL,
    encounter  text,
    created_by text        NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, launch_id)
);

-- Revocations every server process applies to the tokens it verifies:
-- kind 'grant' (every token of a grant), 'jti' (one access token), 'client'
-- and 'user' (disabled). Polled by sequence number.
CREATE TABLE auth_revocations (
    seq        bigserial   PRIMARY KEY,
    tenant_id  text        NOT NULL,
    kind       text        NOT NULL CHECK (kind IN ('grant', 'jti', 'client', 'user')),
    value      text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
