//! The `audit_events` table: append-only (the database refuses UPDATE, DELETE and
//! TRUNCATE), bodies sealed like any PHI.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;

use super::schema::audit_events as ae;
use super::StoreError;
use crate::crypto::{Ciphertext, Keyring, PhiBytes, RowBinding};
use crate::model::ResourceId;
use crate::tenant::TenantId;

pub const AUDIT_TYPE: &str = "AuditEvent";
/// AuditEvents are never updated, so every one is version 1 in its binding.
pub const AUDIT_VERSION: i32 = 1;

pub fn insert(
    conn: &mut PgConnection,
    keyring: &Keyring,
    tenant: &TenantId,
    id: &ResourceId,
    recorded: DateTime<Utc>,
    body: &[u8],
) -> Result<(), StoreError> {
    let binding = RowBinding {
        tenant: tenant.as_str(),
        resource_type: AUDIT_TYPE,
        id: id.as_str(),
        version: AUDIT_VERSION,
    };
    let (key_id, ct) = keyring.seal(conn, &binding, body)?;
    diesel::insert_into(ae::table)
        .values((
            ae::tenant_id.eq(tenant.as_str()),
            ae::id.eq(id.as_str()),
            ae::recorded.eq(recorded),
            ae::key_id.eq(key_id),
            ae::body.eq(ct.0),
        ))
        .execute(conn)?;
    Ok(())
}

/// Inserts many AuditEvents in one statement (the batched writer's path).
pub fn insert_many(
    conn: &mut PgConnection,
    keyring: &Keyring,
    tenant: &TenantId,
    events: &[(ResourceId, DateTime<Utc>, Vec<u8>)],
) -> Result<(), StoreError> {
    use diesel::sql_types::{Array, Bytea, Int4, Text, Timestamptz};
    let (mut ids, mut times, mut keys, mut bodies) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (id, recorded, body) in events {
        let binding = RowBinding {
            tenant: tenant.as_str(),
            resource_type: AUDIT_TYPE,
            id: id.as_str(),
            version: AUDIT_VERSION,
        };
        let (key_id, ct) = keyring.seal(conn, &binding, body)?;
        ids.push(id.as_str().to_owned());
        times.push(*recorded);
        keys.push(key_id);
        bodies.push(ct.0);
    }
    diesel::sql_query(
        "INSERT INTO audit_events (tenant_id, id, recorded, key_id, body) \
         SELECT $1, x.* FROM unnest($2::text[], $3::timestamptz[], $4::int4[], $5::bytea[]) AS x",
    )
    .bind::<Text, _>(tenant.as_str())
    .bind::<Array<Text>, _>(ids)
    .bind::<Array<Timestamptz>, _>(times)
    .bind::<Array<Int4>, _>(keys)
    .bind::<Array<Bytea>, _>(bodies)
    .execute(conn)?;
    Ok(())
}

/// (recorded, JSON body) of one AuditEvent.
pub fn read(
    conn: &mut PgConnection,
    keyring: &Keyring,
    tenant: &TenantId,
    id: &ResourceId,
) -> Result<Option<(DateTime<Utc>, PhiBytes)>, StoreError> {
    let row = ae::table
        .find((tenant.as_str(), id.as_str()))
        .select((ae::recorded, ae::body))
        .first::<(DateTime<Utc>, Vec<u8>)>(conn)
        .optional()?;
    match row {
        Some((recorded, ct)) => {
            let binding = RowBinding {
                tenant: tenant.as_str(),
                resource_type: AUDIT_TYPE,
                id: id.as_str(),
                version: AUDIT_VERSION,
            };
            Ok(Some((
                recorded,
                keyring.open(conn, &binding, &Ciphertext(ct))?,
            )))
        }
        None => Ok(None),
    }
}
