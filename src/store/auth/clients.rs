//! `auth_clients`: registered OAuth clients (RFC 6749 section 2).

use diesel::pg::PgConnection;
use diesel::sql_types::{Array, Bool, Jsonb, Nullable, Text};
use diesel::{QueryableByName, RunQueryDsl};
use serde_json::Value;

use crate::store::stmt::Stmt;
use crate::store::StoreError;

#[derive(Debug, Clone, QueryableByName)]
pub struct ClientRow {
    #[diesel(sql_type = Text)]
    pub client_id: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    /// `public`, `confidential` or `backend`.
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub secret_hash: Option<String>,
    #[diesel(sql_type = Array<Text>)]
    pub redirect_uris: Vec<String>,
    #[diesel(sql_type = Nullable<Jsonb>)]
    pub jwks: Option<Value>,
    /// The most this client may be granted (a scope string).
    #[diesel(sql_type = Text)]
    pub scopes: String,
    #[diesel(sql_type = Bool)]
    pub disabled: bool,
}

const COLUMNS: &str = "client_id, name, kind, secret_hash, redirect_uris, jwks, scopes, disabled";

pub fn insert(conn: &mut PgConnection, tenant: &str, c: &ClientRow) -> Result<(), StoreError> {
    Stmt::new(
        "INSERT INTO auth_clients (tenant_id, client_id, name, kind, secret_hash, redirect_uris, jwks, scopes) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind::<Text, _>(tenant)
    .bind::<Text, _>(&c.client_id)
    .bind::<Text, _>(&c.name)
    .bind::<Text, _>(&c.kind)
    .bind::<Nullable<Text>, _>(c.secret_hash.as_deref())
    .bind::<Array<Text>, _>(&c.redirect_uris)
    .bind::<Nullable<Jsonb>, _>(c.jwks.as_ref())
    .bind::<Text, _>(&c.scopes)
    .execute(conn)?;
    Ok(())
}

pub fn get(
    conn: &mut PgConnection,
    tenant: &str,
    client_id: &str,
) -> Result<Option<ClientRow>, StoreError> {
    let mut rows: Vec<ClientRow> = Stmt::new(format!(
        "SELECT {COLUMNS} FROM auth_clients WHERE tenant_id = $1 AND client_id = $2"
    ))
    .bind::<Text, _>(tenant)
    .bind::<Text, _>(client_id)
    .load(conn)?;
    Ok(rows.pop())
}

pub fn list(conn: &mut PgConnection, tenant: &str) -> Result<Vec<ClientRow>, StoreError> {
    Ok(Stmt::new(format!(
        "SELECT {COLUMNS} FROM auth_clients WHERE tenant_id = $1 ORDER BY client_id"
    ))
    .bind::<Text, _>(tenant)
    .load(conn)?)
}

/// Disables a client; true when it existed. Its tokens stop working through
/// the revocation it records (store/auth/revocations.rs).
pub fn disable(conn: &mut PgConnection, tenant: &str, client_id: &str) -> Result<bool, StoreError> {
    super::revocations::disable(
        conn,
        tenant,
        "auth_clients",
        "client_id",
        "client",
        client_id,
    )
}
