//! `auth_revocations`: what every server process must stop honouring (a
//! revoked grant or access token, a disabled client or user), read by
//! sequence number so each process polls only what is new.

use diesel::pg::PgConnection;
use diesel::sql_types::{BigInt, Text};
use diesel::{QueryableByName, RunQueryDsl};

use crate::store::stmt::Stmt;
use crate::store::StoreError;

#[derive(Debug, Clone, QueryableByName)]
pub struct Revocation {
    #[diesel(sql_type = BigInt)]
    pub seq: i64,
    #[diesel(sql_type = Text)]
    pub tenant_id: String,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Text)]
    pub value: String,
}

pub fn insert(
    conn: &mut PgConnection,
    tenant: &str,
    kind: &str,
    value: &str,
) -> Result<(), StoreError> {
    Stmt::new("INSERT INTO auth_revocations (tenant_id, kind, value) VALUES ($1, $2, $3)")
        .bind::<Text, _>(tenant)
        .bind::<Text, _>(kind)
        .bind::<Text, _>(value)
        .execute(conn)?;
    Ok(())
}

/// How far back in sequence numbers a poll looks again: a revocation whose
/// transaction commits after one with a higher number was polled is still
/// found (numbers are taken at insert, not at commit), unless this many were
/// taken in between. Applying one twice changes nothing.
const LOOKBACK: i64 = 100;

/// Revocations after `after` (less [`LOOKBACK`]), oldest first.
pub fn since(conn: &mut PgConnection, after: i64) -> Result<Vec<Revocation>, StoreError> {
    Ok(Stmt::new(
        "SELECT seq, tenant_id, kind, value FROM auth_revocations WHERE seq > $1 ORDER BY seq LIMIT 10000",
    )
    .bind::<BigInt, _>(after.saturating_sub(LOOKBACK))
    .load(conn)?)
}

/// The last revocation number taken by any tenant (0 for none): one cheap
/// read that tells a server whether any tenant's revocations moved. A
/// sequence has no row-level security, and its value says nothing of whose
/// revocation it was.
pub fn last_seq(conn: &mut PgConnection) -> Result<i64, StoreError> {
    #[derive(diesel::QueryableByName)]
    struct Last {
        #[diesel(sql_type = BigInt)]
        v: i64,
    }
    let last: Last = Stmt::new(
        "SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS v FROM auth_revocations_seq_seq",
    )
    .get_result(conn)?;
    Ok(last.v)
}

/// Disables the row of `table` whose `key_column` is `key` and records the
/// revocation `kind` for it, in one transaction; true when the row existed.
/// `table`, `key_column` and `kind` come from this module's callers, never
/// from a request.
pub(super) fn disable(
    conn: &mut PgConnection,
    tenant: &str,
    table: &'static str,
    key_column: &'static str,
    kind: &'static str,
    key: &str,
) -> Result<bool, StoreError> {
    use diesel::Connection;
    conn.transaction(|conn| {
        let n = Stmt::new(format!(
            "UPDATE {table} SET disabled = true WHERE tenant_id = $1 AND {key_column} = $2"
        ))
        .bind::<Text, _>(tenant)
        .bind::<Text, _>(key)
        .execute(conn)?;
        if n > 0 {
            insert(conn, tenant, kind, key)?;
        }
        Ok(n > 0)
    })
}
