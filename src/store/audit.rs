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

/// One AuditEvent as stored: the sealed body plus its search projection
/// (migrations/.._core/up.sql explains why AuditEvents are projected, not indexed).
pub struct AuditRow {
    pub id: ResourceId,
    pub recorded: DateTime<Utc>,
    pub body: Vec<u8>,
    pub type_code: String,
    pub subtype: String,
    pub action: String,
    pub outcome: String,
    pub entities: Vec<String>,
    pub patients: Vec<String>,
    pub agents: Vec<String>,
    pub address: Option<String>,
    /// Search terms of the parameters without a column (src/audit/terms.rs).
    pub terms: Vec<String>,
}

/// Inserts AuditEvents, however many, in one statement.
pub fn insert_many(
    conn: &mut PgConnection,
    keyring: &Keyring,
    tenant: &TenantId,
    rows: Vec<AuditRow>,
) -> Result<(), StoreError> {
    let mut values = Vec::with_capacity(rows.len());
    for r in rows {
        let binding = RowBinding {
            tenant: tenant.as_str(),
            resource_type: AUDIT_TYPE,
            id: r.id.as_str(),
            version: AUDIT_VERSION,
        };
        let (key_id, ct) = keyring.seal(conn, &binding, &r.body)?;
        values.push((
            (
                ae::tenant_id.eq(tenant.as_str().to_owned()),
                ae::id.eq(r.id.as_str().to_owned()),
                ae::recorded.eq(r.recorded),
                ae::key_id.eq(key_id),
                ae::body.eq(ct.0),
            ),
            (
                ae::type_code.eq(r.type_code),
                ae::subtype.eq(r.subtype),
                ae::action.eq(r.action),
                ae::outcome.eq(r.outcome),
            ),
            (
                ae::entities.eq(r.entities),
                ae::patients.eq(r.patients),
                ae::agents.eq(r.agents),
                ae::address.eq(r.address),
                ae::terms.eq(r.terms),
            ),
        ));
    }
    diesel::insert_into(ae::table)
        .values(values)
        .execute(conn)?;
    Ok(())
}

/// (recorded, JSON body) of one AuditEvent.
/// Several AuditEvents in one query, in the order of `ids`; unknown ids are left out.
pub fn read_many(
    conn: &mut PgConnection,
    keyring: &Keyring,
    tenant: &TenantId,
    ids: &[ResourceId],
) -> Result<Vec<(ResourceId, PhiBytes)>, StoreError> {
    let wanted: Vec<&str> = ids.iter().map(ResourceId::as_str).collect();
    let rows = ae::table
        .filter(ae::tenant_id.eq(tenant.as_str()))
        .filter(ae::id.eq_any(&wanted))
        .select((ae::id, ae::body))
        .load::<(String, Vec<u8>)>(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, ct) in rows {
        let binding = RowBinding {
            tenant: tenant.as_str(),
            resource_type: AUDIT_TYPE,
            id: &id,
            version: AUDIT_VERSION,
        };
        let body = keyring.open(conn, &binding, &Ciphertext(ct))?;
        let id =
            ResourceId::parse(&id).ok_or_else(|| StoreError::Corrupt("bad stored id".into()))?;
        out.push((id, body));
    }
    out.sort_by_key(|(id, _)| wanted.iter().position(|w| *w == id.as_str()));
    Ok(out)
}

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
