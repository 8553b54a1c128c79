//! `auth_users` and `auth_login_failures`: people who log in, and the counts
//! that slow and lock out password guessing (per account and per address).

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::sql_types::{Bool, Integer, Nullable, Text, Timestamptz};
use diesel::{QueryableByName, RunQueryDsl};

use crate::store::stmt::Stmt;
use crate::store::StoreError;

#[derive(Debug, Clone, QueryableByName)]
pub struct UserRow {
    #[diesel(sql_type = Text)]
    pub username: String,
    #[diesel(sql_type = Text)]
    pub password_hash: String,
    #[diesel(sql_type = Text)]
    pub role: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub fhir_user: Option<String>,
    #[diesel(sql_type = Bool)]
    pub disabled: bool,
    #[diesel(sql_type = Integer)]
    pub failed_logins: i32,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub locked_until: Option<DateTime<Utc>>,
}

const COLUMNS: &str =
    "username, password_hash, role, fhir_user, disabled, failed_logins, locked_until";

pub fn insert(conn: &mut PgConnection, tenant: &str, u: &UserRow) -> Result<(), StoreError> {
    Stmt::new(
        "INSERT INTO auth_users (tenant_id, username, password_hash, role, fhir_user) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind::<Text, _>(tenant)
    .bind::<Text, _>(&u.username)
    .bind::<Text, _>(&u.password_hash)
    .bind::<Text, _>(&u.role)
    .bind::<Nullable<Text>, _>(u.fhir_user.as_deref())
    .execute(conn)?;
    Ok(())
}

pub fn get(
    conn: &mut PgConnection,
    tenant: &str,
    username: &str,
) -> Result<Option<UserRow>, StoreError> {
    let mut rows: Vec<UserRow> = Stmt::new(format!(
        "SELECT {COLUMNS} FROM auth_users WHERE tenant_id = $1 AND username = $2"
    ))
    .bind::<Text, _>(tenant)
    .bind::<Text, _>(username)
    .load(conn)?;
    Ok(rows.pop())
}

pub fn list(conn: &mut PgConnection, tenant: &str) -> Result<Vec<UserRow>, StoreError> {
    Ok(Stmt::new(format!(
        "SELECT {COLUMNS} FROM auth_users WHERE tenant_id = $1 ORDER BY username"
    ))
    .bind::<Text, _>(tenant)
    .load(conn)?)
}

/// Disables a user; true when they existed. Their tokens stop working through
/// the revocation it records.
pub fn disable(conn: &mut PgConnection, tenant: &str, username: &str) -> Result<bool, StoreError> {
    super::revocations::disable(conn, tenant, "auth_users", "username", "user", username)
}

/// Records a failed login for the account (when it exists) and the address;
/// locks each for `lock` once it reaches `limit` failures.
pub fn record_failure(
    conn: &mut PgConnection,
    tenant: &str,
    username: &str,
    address: &str,
    limit: i32,
    lock: chrono::Duration,
) -> Result<(), StoreError> {
    let secs = lock.num_seconds();
    Stmt::new(
        "UPDATE auth_users SET failed_logins = failed_logins + 1, \
         locked_until = CASE WHEN failed_logins + 1 >= $3 THEN now() + $4 * interval '1 second' ELSE locked_until END \
         WHERE tenant_id = $1 AND username = $2",
    )
    .bind::<Text, _>(tenant)
    .bind::<Text, _>(username)
    .bind::<Integer, _>(limit)
    .bind::<diesel::sql_types::BigInt, _>(secs)
    .execute(conn)?;
    // An address's count starts again after an hour without failures.
    Stmt::new(
        "INSERT INTO auth_login_failures AS f (tenant_id, address, failures) VALUES ($1, $2, 1) \
         ON CONFLICT (tenant_id, address) DO UPDATE SET \
           failures = CASE WHEN f.window_start < now() - interval '1 hour' THEN 1 ELSE f.failures + 1 END, \
           window_start = CASE WHEN f.window_start < now() - interval '1 hour' THEN now() ELSE f.window_start END, \
           locked_until = CASE WHEN f.window_start >= now() - interval '1 hour' AND f.failures + 1 >= $3 \
                               THEN now() + $4 * interval '1 second' ELSE f.locked_until END",
    )
    .bind::<Text, _>(tenant)
    .bind::<Text, _>(address)
    .bind::<Integer, _>(limit * 4)
    .bind::<diesel::sql_types::BigInt, _>(secs)
    .execute(conn)?;
    Ok(())
}

/// A successful login clears the account's count.
pub fn record_success(
    conn: &mut PgConnection,
    tenant: &str,
    username: &str,
) -> Result<(), StoreError> {
    Stmt::new("UPDATE auth_users SET failed_logins = 0, locked_until = NULL WHERE tenant_id = $1 AND username = $2")
        .bind::<Text, _>(tenant)
        .bind::<Text, _>(username)
        .execute(conn)?;
    Ok(())
}

/// Until when `address` is locked out, if it is.
pub fn address_locked_until(
    conn: &mut PgConnection,
    tenant: &str,
    address: &str,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Nullable<Timestamptz>)]
        locked_until: Option<DateTime<Utc>>,
    }
    let rows: Vec<Row> = Stmt::new(
        "SELECT locked_until FROM auth_login_failures WHERE tenant_id = $1 AND address = $2 AND locked_until > now()",
    )
    .bind::<Text, _>(tenant)
    .bind::<Text, _>(address)
    .load(conn)?;
    Ok(rows.into_iter().next().and_then(|r| r.locked_until))
}
