//! `auth_signing_keys`: the authorization server's signing keys, the private
//! half sealed by the caller under the master key.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::sql_types::{Bytea, Jsonb, Nullable, Text, Timestamptz};
use diesel::{QueryableByName, RunQueryDsl};
use serde_json::Value;

use crate::store::stmt::Stmt;
use crate::store::StoreError;

#[derive(Debug, Clone, QueryableByName)]
pub struct SigningKeyRow {
    #[diesel(sql_type = Text)]
    pub kid: String,
    #[diesel(sql_type = Text)]
    pub alg: String,
    #[diesel(sql_type = Bytea)]
    pub sealed_private: Vec<u8>,
    #[diesel(sql_type = Jsonb)]
    pub public_jwk: Value,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub retired_at: Option<DateTime<Utc>>,
}

/// The active key and every retired key still published, active first.
pub fn published(conn: &mut PgConnection, tenant: &str) -> Result<Vec<SigningKeyRow>, StoreError> {
    Ok(Stmt::new(
        "SELECT kid, alg, sealed_private, public_jwk, retired_at FROM auth_signing_keys \
         WHERE tenant_id = $1 AND (retired_at IS NULL OR publish_until > now()) \
         ORDER BY retired_at DESC NULLS FIRST, created_at DESC",
    )
    .bind::<Text, _>(tenant)
    .load(conn)?)
}

/// Inserts `row` as the active key, retiring the one before it (published for
/// `publish_for` more), under a lock so that two starting servers agree.
pub fn rotate_in(
    conn: &mut PgConnection,
    tenant: &str,
    row: &SigningKeyRow,
    publish_for: chrono::Duration,
    only_if_none: bool,
) -> Result<bool, StoreError> {
    use diesel::Connection;
    conn.transaction(|conn| {
        Stmt::new("SELECT pg_advisory_xact_lock(74217, hashtext($1))")
            .bind::<Text, _>(tenant)
            .execute(conn)?;
        if only_if_none {
            let n = Stmt::new(
                "SELECT kid, alg, sealed_private, public_jwk, retired_at FROM auth_signing_keys \
                 WHERE tenant_id = $1 AND retired_at IS NULL",
            )
            .bind::<Text, _>(tenant)
            .load::<SigningKeyRow>(conn)?;
            if !n.is_empty() {
                return Ok(false);
            }
        }
        Stmt::new(
            "UPDATE auth_signing_keys SET retired_at = now(), publish_until = now() + $2 * interval '1 second' \
             WHERE tenant_id = $1 AND retired_at IS NULL",
        )
        .bind::<Text, _>(tenant)
        .bind::<diesel::sql_types::BigInt, _>(publish_for.num_seconds())
        .execute(conn)?;
        Stmt::new(
            "INSERT INTO auth_signing_keys (tenant_id, kid, alg, sealed_private, public_jwk) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind::<Text, _>(tenant)
        .bind::<Text, _>(&row.kid)
        .bind::<Text, _>(&row.alg)
        .bind::<Bytea, _>(&row.sealed_private)
        .bind::<Jsonb, _>(&row.public_jwk)
        .execute(conn)?;
        Ok(true)
    })
}
