//! The `audit_events` table: append-only (the database refuses UPDATE, DELETE and
//! TRUNCATE), bodies sealed like any PHI.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;

use super::batch::{Builder, Col};
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
    let mut b = Builder::new(tenant);
    stage(&mut b, conn, keyring, tenant, rows)?;
    b.execute(conn)
}

/// One array per column and, for the array columns, one flat array of every
/// row's elements with each row's bounds into it (PostgreSQL arrays must be
/// rectangular, so `text[][]` cannot carry rows of different lengths).
#[derive(Default)]
struct Flat {
    values: Vec<String>,
    from: Vec<i32>,
    to: Vec<i32>,
}

impl Flat {
    fn push(&mut self, v: Vec<String>) {
        self.from
            .push(i32::try_from(self.values.len()).unwrap_or(i32::MAX));
        self.values.extend(v);
        self.to
            .push(i32::try_from(self.values.len()).unwrap_or(i32::MAX));
    }

    /// `($n::text[])[a.lo + 1 : a.hi]`: this row's slice.
    fn slice(self, b: &mut Builder, lo: &str, hi: &str) -> (String, [Col; 2]) {
        let all = b.param(Col::Text(self.values));
        (
            format!("({all})[a.{lo} + 1 : a.{hi}]"),
            [Col::Int(self.from), Col::Int(self.to)],
        )
    }
}

/// Seals `rows` and adds their INSERT to `b` (nothing for no rows).
pub(crate) fn stage(
    b: &mut Builder,
    conn: &mut PgConnection,
    keyring: &Keyring,
    tenant: &TenantId,
    rows: Vec<AuditRow>,
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let n = rows.len();
    let (mut id, mut recorded, mut key, mut body) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut type_code, mut subtype, mut action, mut outcome, mut address) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let [mut entities, mut patients, mut agents, mut terms] = <[Flat; 4]>::default();
    for r in rows {
        let binding = RowBinding {
            tenant: tenant.as_str(),
            resource_type: AUDIT_TYPE,
            id: r.id.as_str(),
            version: AUDIT_VERSION,
        };
        let (key_id, ct) = keyring.seal(conn, &binding, &r.body)?;
        id.push(r.id.to_string());
        recorded.push(r.recorded);
        key.push(key_id);
        body.push(Some(ct.0));
        type_code.push(r.type_code);
        subtype.push(r.subtype);
        action.push(r.action);
        outcome.push(r.outcome);
        address.push(r.address);
        entities.push(r.entities);
        patients.push(r.patients);
        agents.push(r.agents);
        terms.push(r.terms);
    }
    let (entities, e) = entities.slice(b, "e0", "e1");
    let (patients, p) = patients.slice(b, "p0", "p1");
    let (agents, g) = agents.slice(b, "g0", "g1");
    let (terms, t) = terms.slice(b, "t0", "t1");
    let mut cols = vec![
        Col::Text(id),
        Col::Time(recorded),
        Col::Int(key),
        Col::NBytes(body),
        Col::Text(type_code),
        Col::Text(subtype),
        Col::Text(action),
        Col::Text(outcome),
        Col::NText(address),
    ];
    cols.extend(e.into_iter().chain(p).chain(g).chain(t));
    let args: Vec<String> = cols.into_iter().map(|c| b.param(c)).collect();
    b.push(format!(
        "INSERT INTO audit_events (tenant_id, id, recorded, key_id, body, type_code, subtype, \
         action, outcome, entities, patients, agents, address, terms) \
         SELECT $1, a.id, a.rec, a.k, a.b, a.t, a.s, a.ac, a.o, {entities}, {patients}, {agents}, a.addr, {terms} \
         FROM unnest({}) AS a(id, rec, k, b, t, s, ac, o, addr, e0, e1, p0, p1, g0, g1, t0, t1)",
        args.join(", ")
    ));
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
