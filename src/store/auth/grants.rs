//! `auth_grants` and what hangs off one: authorization codes, refresh tokens;
//! plus Backend Services assertion ids and EHR launch contexts. Codes and
//! refresh tokens arrive here as digests only.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::sql_types::{Bytea, Jsonb, Nullable, Text, Timestamptz};
use diesel::{Connection, QueryableByName, RunQueryDsl};
use serde_json::Value;

use crate::store::stmt::Stmt;
use crate::store::StoreError;

#[derive(Debug, Clone, QueryableByName)]
pub struct GrantRow {
    #[diesel(sql_type = Text)]
    pub grant_id: String,
    #[diesel(sql_type = Text)]
    pub client_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub username: Option<String>,
    #[diesel(sql_type = Text)]
    pub scopes: String,
    /// Launch context: `patient`, `encounter`, `need_patient_banner`, `fhirUser`.
    #[diesel(sql_type = Jsonb)]
    pub context: Value,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub revoked_at: Option<DateTime<Utc>>,
}

pub fn insert_grant(conn: &mut PgConnection, tenant: &str, g: &GrantRow) -> Result<(), StoreError> {
    Stmt::new(
        "INSERT INTO auth_grants (tenant_id, grant_id, client_id, username, scopes, context) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind::<Text, _>(tenant)
    .bind::<Text, _>(&g.grant_id)
    .bind::<Text, _>(&g.client_id)
    .bind::<Nullable<Text>, _>(g.username.as_deref())
    .bind::<Text, _>(&g.scopes)
    .bind::<Jsonb, _>(&g.context)
    .execute(conn)?;
    Ok(())
}

pub fn grant(
    conn: &mut PgConnection,
    tenant: &str,
    grant_id: &str,
) -> Result<Option<GrantRow>, StoreError> {
    let mut rows: Vec<GrantRow> = Stmt::new(
        "SELECT grant_id, client_id, username, scopes, context, revoked_at FROM auth_grants WHERE tenant_id = $1 AND grant_id = $2",
    )
    .bind::<Text, _>(tenant)
    .bind::<Text, _>(grant_id)
    .load(conn)?;
    Ok(rows.pop())
}

/// Revokes a grant and, through the revocation row, every token issued under it.
pub fn revoke_grant(
    conn: &mut PgConnection,
    tenant: &str,
    grant_id: &str,
) -> Result<(), StoreError> {
    conn.transaction(|conn| {
        let n = Stmt::new(
            "UPDATE auth_grants SET revoked_at = now() WHERE tenant_id = $1 AND grant_id = $2 AND revoked_at IS NULL",
        )
        .bind::<Text, _>(tenant)
        .bind::<Text, _>(grant_id)
        .execute(conn)?;
        if n > 0 {
            super::revocations::insert(conn, tenant, "grant", grant_id)?;
        }
        Ok(())
    })
}

#[derive(Debug, Clone, QueryableByName)]
pub struct CodeRow {
    #[diesel(sql_type = Text)]
    pub grant_id: String,
    #[diesel(sql_type = Text)]
    pub redirect_uri: String,
    #[diesel(sql_type = Text)]
    pub code_challenge: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub nonce: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    pub expires_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub used_at: Option<DateTime<Utc>>,
}

#[allow(clippy::too_many_arguments)]
pub fn insert_code(
    conn: &mut PgConnection,
    tenant: &str,
    code_hash: &[u8],
    grant_id: &str,
    redirect_uri: &str,
    code_challenge: &str,
    nonce: Option<&str>,
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    Stmt::new(
        "INSERT INTO auth_codes (tenant_id, code_hash, grant_id, redirect_uri, code_challenge, nonce, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind::<Text, _>(tenant)
    .bind::<Bytea, _>(code_hash)
    .bind::<Text, _>(grant_id)
    .bind::<Text, _>(redirect_uri)
    .bind::<Text, _>(code_challenge)
    .bind::<Nullable<Text>, _>(nonce)
    .bind::<Timestamptz, _>(expires_at)
    .execute(conn)?;
    Ok(())
}

/// Marks a code used and answers it as it was before (so the caller sees a
/// replay: `used_at` already set). Under the row lock, so two racing
/// exchanges of one code cannot both see it unused.
pub fn take_code(
    conn: &mut PgConnection,
    tenant: &str,
    code_hash: &[u8],
) -> Result<Option<CodeRow>, StoreError> {
    conn.transaction(|conn| {
        let mut rows: Vec<CodeRow> = Stmt::new(
            "SELECT grant_id, redirect_uri, code_challenge, nonce, expires_at, used_at FROM auth_codes \
             WHERE tenant_id = $1 AND code_hash = $2 FOR UPDATE",
        )
        .bind::<Text, _>(tenant)
        .bind::<Bytea, _>(code_hash)
        .load(conn)?;
        let row = rows.pop();
        if row.as_ref().is_some_and(|r| r.used_at.is_none()) {
            Stmt::new("UPDATE auth_codes SET used_at = now() WHERE tenant_id = $1 AND code_hash = $2")
                .bind::<Text, _>(tenant)
                .bind::<Bytea, _>(code_hash)
                .execute(conn)?;
        }
        Ok(row)
    })
}

#[derive(Debug, Clone, QueryableByName)]
pub struct RefreshRow {
    #[diesel(sql_type = Text)]
    pub grant_id: String,
    #[diesel(sql_type = Text)]
    pub scopes: String,
    #[diesel(sql_type = Timestamptz)]
    pub expires_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub used_at: Option<DateTime<Utc>>,
}

pub fn insert_refresh(
    conn: &mut PgConnection,
    tenant: &str,
    token_hash: &[u8],
    grant_id: &str,
    scopes: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    Stmt::new(
        "INSERT INTO auth_refresh_tokens (tenant_id, token_hash, grant_id, scopes, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind::<Text, _>(tenant)
    .bind::<Bytea, _>(token_hash)
    .bind::<Text, _>(grant_id)
    .bind::<Text, _>(scopes)
    .bind::<Timestamptz, _>(expires_at)
    .execute(conn)?;
    Ok(())
}

/// Like [`take_code`]: marks the refresh token used, answers it as it was.
pub fn take_refresh(
    conn: &mut PgConnection,
    tenant: &str,
    token_hash: &[u8],
) -> Result<Option<RefreshRow>, StoreError> {
    conn.transaction(|conn| {
        let mut rows: Vec<RefreshRow> = Stmt::new(
            "SELECT grant_id, scopes, expires_at, used_at FROM auth_refresh_tokens \
             WHERE tenant_id = $1 AND token_hash = $2 FOR UPDATE",
        )
        .bind::<Text, _>(tenant)
        .bind::<Bytea, _>(token_hash)
        .load(conn)?;
        let row = rows.pop();
        if row.as_ref().is_some_and(|r| r.used_at.is_none()) {
            Stmt::new("UPDATE auth_refresh_tokens SET used_at = now() WHERE tenant_id = $1 AND token_hash = $2")
                .bind::<Text, _>(tenant)
                .bind::<Bytea, _>(token_hash)
                .execute(conn)?;
        }
        Ok(row)
    })
}

/// A refresh token as it is, not marked used (introspection, revocation).
pub fn refresh(
    conn: &mut PgConnection,
    tenant: &str,
    token_hash: &[u8],
) -> Result<Option<RefreshRow>, StoreError> {
    let mut rows: Vec<RefreshRow> = Stmt::new(
        "SELECT grant_id, scopes, expires_at, used_at FROM auth_refresh_tokens \
         WHERE tenant_id = $1 AND token_hash = $2",
    )
    .bind::<Text, _>(tenant)
    .bind::<Bytea, _>(token_hash)
    .load(conn)?;
    Ok(rows.pop())
}

/// Records a client assertion's `jti`; false when it was seen already (a
/// replay). Expired ids are forgotten as new ones arrive.
pub fn first_use_of_jti(
    conn: &mut PgConnection,
    tenant: &str,
    client_id: &str,
    jti: &str,
    expires_at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    Stmt::new("DELETE FROM auth_assertion_jtis WHERE tenant_id = $1 AND expires_at < now() - interval '1 minute'")
        .bind::<Text, _>(tenant)
        .execute(conn)?;
    let n = Stmt::new(
        "INSERT INTO auth_assertion_jtis (tenant_id, client_id, jti, expires_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT DO NOTHING",
    )
    .bind::<Text, _>(tenant)
    .bind::<Text, _>(client_id)
    .bind::<Text, _>(jti)
    .bind::<Timestamptz, _>(expires_at)
    .execute(conn)?;
    Ok(n == 1)
}

#[derive(Debug, Clone, QueryableByName)]
pub struct LaunchRow {
    #[diesel(sql_type = Text)]
    pub patient: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub encounter: Option<String>,
}

pub fn insert_launch(
    conn: &mut PgConnection,
    tenant: &str,
    launch_id: &str,
    patient: &str,
    encounter: Option<&str>,
    created_by: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    Stmt::new(
        "INSERT INTO auth_launches (tenant_id, launch_id, patient, encounter, created_by, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind::<Text, _>(tenant)
    .bind::<Text, _>(launch_id)
    .bind::<Text, _>(patient)
    .bind::<Nullable<Text>, _>(encounter)
    .bind::<Text, _>(created_by)
    .bind::<Timestamptz, _>(expires_at)
    .execute(conn)?;
    Ok(())
}

/// The unexpired launch context `launch_id` names.
pub fn launch(
    conn: &mut PgConnection,
    tenant: &str,
    launch_id: &str,
) -> Result<Option<LaunchRow>, StoreError> {
    let mut rows: Vec<LaunchRow> = Stmt::new(
        "SELECT patient, encounter FROM auth_launches WHERE tenant_id = $1 AND launch_id = $2 AND expires_at > now()",
    )
    .bind::<Text, _>(tenant)
    .bind::<Text, _>(launch_id)
    .load(conn)?;
    Ok(rows.pop())
}
