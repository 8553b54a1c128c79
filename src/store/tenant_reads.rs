//! A read by id that sets the session's tenant itself, in the same statement
//! (issue #18, scale).
//!
//! Reads run under the session's tenant (store/session.rs). With reads spread
//! over many clinics, nearly every read lands on a connection last set to
//! another clinic, and setting it was a statement and a round trip of its own:
//! measured with pgbench as the serving role on the 200-clinic bench data,
//! that second statement cost a third of the read's throughput, and the read
//! that sets its tenant itself cost nothing over a read on a session already
//! set (docs/performance.md, session 14).
//!
//! Why the statement is safe under row-level security: the setting is a
//! one-row subquery, and the read a LATERAL subquery over it kept apart by
//! `OFFSET 0` (which stops PostgreSQL from pulling it up into the join,
//! https://www.postgresql.org/docs/15/queries-table-expressions.html#QUERIES-LATERAL).
//! A LATERAL subquery is evaluated for each row of what it refers to, so its
//! scans start, and the policy's `current_setting('app.tenant')` is read,
//! only once the setting has run. The read also names its tenant, so even
//! under any other order it could return a row of no tenant but `tenant`.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::sql_types::{Bytea, Int4, Nullable, Text, Timestamptz};
use diesel::{OptionalExtension, RunQueryDsl};

use super::resources::{decode, Version};
use super::stmt::Stmt;
use super::StoreError;
use crate::crypto::Keyring;
use crate::model::{ResourceId, ResourceType};
use crate::tenant::TenantId;

const READ_SETTING_TENANT: &str = "\
SELECT v.resource_type, v.id, v.version_id, v.last_updated, v.method, v.body \
FROM (SELECT set_config('app.tenant', $1, false) AS tenant) s, \
LATERAL (SELECT v.resource_type, v.id, v.version_id, v.last_updated, v.method, v.body \
    FROM resources r JOIN resource_versions v ON v.tenant_id = r.tenant_id \
        AND v.resource_type = r.resource_type AND v.id = r.id AND v.version_id = r.version_id \
    WHERE r.tenant_id = s.tenant AND r.resource_type = $2 AND r.id = $3 OFFSET 0) v";

#[derive(diesel::QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    resource_type: String,
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Int4)]
    version_id: i32,
    #[diesel(sql_type = Timestamptz)]
    last_updated: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    method: String,
    #[diesel(sql_type = Nullable<Bytea>)]
    body: Option<Vec<u8>>,
}

/// `resources::read` in one statement that first sets the session's tenant
/// to `tenant` (`set_config(.., false)`): the first statement of a unit of
/// work run by [`super::Db::read_setting_tenant`], which relies on it to
/// leave the session set to `tenant`. A failed statement undoes its setting.
pub fn read_setting_tenant(
    conn: &mut PgConnection,
    keyring: &Keyring,
    tenant: &TenantId,
    rtype: ResourceType,
    id: &ResourceId,
) -> Result<Option<Version>, StoreError> {
    let row: Option<Row> = Stmt::new(READ_SETTING_TENANT)
        .bind::<Text, _>(tenant.as_str())
        .bind::<Text, _>(rtype.as_str())
        .bind::<Text, _>(id.as_str())
        .get_result(conn)
        .optional()?;
    row.map(|r| {
        let row = (
            r.resource_type,
            r.id,
            r.version_id,
            r.last_updated,
            r.method,
            r.body,
        );
        decode(conn, keyring, tenant, row)
    })
    .transpose()
}
