//! The `audit_events` table: append-only (the database refuses UPDATE, DELETE and
//! TRUNCATE), bodies sealed like any PHI.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;

use super::batch::{Builder, Col};
use super::error::{skip_unreadable, Unreadable};
use super::keys::TenantKeys;
use super::schema::audit_events as ae;
use super::stmt::Stmt;
use super::StoreError;
use crate::crypto::{Ciphertext, KeySource, Keyring, PhiBytes, RowBinding};
use crate::model::{ResourceId, ResourceType};
use crate::tenant::TenantId;

pub const AUDIT_TYPE: &str = ResourceType::AuditEvent.as_str();
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

/// What an AuditEvent's ciphertext is bound to (it has one version).
fn binding<'a>(tenant: &'a TenantId, id: &'a str) -> RowBinding<'a> {
    RowBinding {
        tenant: tenant.as_str(),
        resource_type: AUDIT_TYPE,
        id,
        version: AUDIT_VERSION,
    }
}

/// The columns both INSERTs below fill, in the order of [`Columns::into_cols`]
/// after the tenant.
const INSERT_COLUMNS: &str = "tenant_id, id, recorded, key_id, body, type_code, subtype, \
     action, outcome, address, entities, patients, agents, terms";

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

/// One row's `text[]` value as a PostgreSQL array literal, cast back in SQL
/// (`a.e::text[]`). PostgreSQL arrays must be rectangular, so `text[][]` cannot
/// carry rows of different lengths; the earlier way, one flat array sliced per
/// row, cost O(rows squared): each slice walks the flat array from its start
/// (array_get_slice was 6% of PostgreSQL's time under read load, where the audit
/// writer inserts hundreds of rows at once). Every element is quoted, with `"`
/// and `\` escaped (https://www.postgresql.org/docs/15/arrays.html#ARRAYS-IO).
fn array_literal(values: &[String]) -> String {
    let mut out = String::with_capacity(2 + values.iter().map(|v| v.len() + 3).sum::<usize>());
    out.push('{');
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        for c in v.chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
    }
    out.push('}');
    out
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
    let mut c = Columns::default();
    c.seal(conn, keyring, tenant, rows)?;
    let cols = c.into_cols();
    let args: Vec<String> = cols.into_iter().map(|c| b.param(c)).collect();
    b.push(format!(
        "INSERT INTO audit_events ({INSERT_COLUMNS}) \
         SELECT $1, a.id, a.rec, a.k, a.b, a.t, a.s, a.ac, a.o, a.addr, a.e::text[], a.p::text[], \
         a.g::text[], a.tm::text[] FROM unnest({}) AS a(id, rec, k, b, t, s, ac, o, addr, e, p, g, tm)",
        args.join(", ")
    ));
    Ok(())
}

/// Several tenants' AuditEvents in one statement: the audit writer's batch
/// when its records are of more than one tenant. The transaction declares
/// the batch's tenants in `app.audit_tenants`, which the `audit_writer`
/// policy (migrations/..000016_audit_writer_policy) checks every row
/// against; the rows then go in as one multi-row INSERT, as one tenant's do.
/// Call inside a transaction: the declaration ends with it.
pub fn insert_tenants(
    keys: &mut TenantKeys<'_>,
    keyring: &Keyring,
    groups: Vec<(&TenantId, Vec<AuditRow>)>,
) -> Result<(), StoreError> {
    let mut c = Columns::default();
    let mut tenants = Vec::new();
    let mut declared = String::from(",");
    for (tenant, rows) in groups {
        if rows.is_empty() {
            continue;
        }
        tenants.extend(std::iter::repeat_n(tenant.as_str().to_owned(), rows.len()));
        declared.push_str(tenant.as_str());
        declared.push(',');
        c.seal(keys, keyring, tenant, rows)?;
    }
    if tenants.is_empty() {
        return Ok(());
    }
    Stmt::new("SELECT set_config('app.audit_tenants', $1, true)")
        .bind::<Text, _>(declared)
        .execute(keys.conn())?;
    let mut b = Builder::unbound();
    let mut args = vec![b.param(Col::Text(tenants))];
    let cols = c.into_cols();
    args.extend(cols.into_iter().map(|c| b.param(c)));
    b.push(format!(
        "INSERT INTO audit_events ({INSERT_COLUMNS}) \
         SELECT a.tn, a.id, a.rec, a.k, a.b, a.t, a.s, a.ac, a.o, a.addr, a.e::text[], a.p::text[], \
         a.g::text[], a.tm::text[] FROM unnest({}) AS a(tn, id, rec, k, b, t, s, ac, o, addr, e, p, g, tm)",
        args.join(", ")
    ));
    b.execute(keys.conn())
}

/// AuditEvent rows as the columns of a multi-row INSERT, sealed.
#[derive(Default)]
struct Columns {
    id: Vec<String>,
    recorded: Vec<DateTime<Utc>>,
    key: Vec<i32>,
    body: Vec<Option<Vec<u8>>>,
    type_code: Vec<String>,
    subtype: Vec<String>,
    action: Vec<String>,
    outcome: Vec<String>,
    address: Vec<Option<String>>,
    entities: Vec<String>,
    patients: Vec<String>,
    agents: Vec<String>,
    terms: Vec<String>,
}

impl Columns {
    fn seal<S: KeySource<Error = StoreError>>(
        &mut self,
        keys: &mut S,
        keyring: &Keyring,
        tenant: &TenantId,
        rows: Vec<AuditRow>,
    ) -> Result<(), StoreError> {
        for r in rows {
            let (key_id, ct) = keyring.seal(keys, &binding(tenant, r.id.as_str()), &r.body)?;
            self.id.push(r.id.to_string());
            self.recorded.push(r.recorded);
            self.key.push(key_id);
            self.body.push(Some(ct.0));
            self.type_code.push(r.type_code);
            self.subtype.push(r.subtype);
            self.action.push(r.action);
            self.outcome.push(r.outcome);
            self.address.push(r.address);
            self.entities.push(array_literal(&r.entities));
            self.patients.push(array_literal(&r.patients));
            self.agents.push(array_literal(&r.agents));
            self.terms.push(array_literal(&r.terms));
        }
        Ok(())
    }

    /// The columns, in the order of the INSERTs above (after the tenant).
    fn into_cols(self) -> Vec<Col> {
        let mut cols = vec![
            Col::Text(self.id),
            Col::Time(self.recorded),
            Col::Int(self.key),
            Col::NBytes(self.body),
            Col::Text(self.type_code),
            Col::Text(self.subtype),
            Col::Text(self.action),
            Col::Text(self.outcome),
            Col::NText(self.address),
        ];
        cols.extend([self.entities, self.patients, self.agents, self.terms].map(Col::Text));
        cols
    }
}

/// Several AuditEvents in one query, in the order of `ids`; unknown ids are
/// left out, and so are rows that do not open (noted in `skipped`).
pub fn read_many(
    conn: &mut PgConnection,
    keyring: &Keyring,
    tenant: &TenantId,
    ids: &[ResourceId],
    skipped: &mut Vec<Unreadable>,
) -> Result<Vec<(ResourceId, PhiBytes)>, StoreError> {
    let wanted: Vec<&str> = ids.iter().map(ResourceId::as_str).collect();
    let rows = ae::table
        .filter(ae::tenant_id.eq(tenant.as_str()))
        .filter(ae::id.eq_any(&wanted))
        .select((ae::id, ae::body))
        .load::<(String, Vec<u8>)>(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, ct) in rows {
        let opened = keyring
            .open(conn, &binding(tenant, &id), &Ciphertext(ct))
            .and_then(|body| {
                let id = ResourceId::parse(&id)
                    .ok_or_else(|| StoreError::Corrupt("bad stored id".into()))?;
                Ok((id, body))
            });
        out.extend(skip_unreadable(opened, AUDIT_TYPE, &id, skipped)?);
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
        Some((recorded, ct)) => Ok(Some((
            recorded,
            keyring.open(conn, &binding(tenant, id.as_str()), &Ciphertext(ct))?,
        ))),
        None => Ok(None),
    }
}
