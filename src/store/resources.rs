//! The resource repository: current versions (`resources`) and the append-only
//! history (`resource_versions`). Bodies are sealed with the tenant's active data
//! key and bound to (tenant, type, id, version) before they reach SQL.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;

use super::error::{skip_unreadable, Unreadable};
use super::schema::{resource_versions as rv, resources as cur};
use super::StoreError;
use crate::crypto::{Ciphertext, Keyring, PhiBytes, RowBinding};
use crate::model::{ResourceId, ResourceType};
use crate::tenant::TenantId;

/// The interaction that produced a version (history Bundle entry.request.method).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Post,
    Put,
    Delete,
    Patch,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Patch => "PATCH",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "POST" => Ok(Method::Post),
            "PUT" => Ok(Method::Put),
            "DELETE" => Ok(Method::Delete),
            "PATCH" => Ok(Method::Patch),
            other => Err(StoreError::Corrupt(format!("unknown method {other}"))),
        }
    }
}

/// The current-version pointer of a resource.
#[derive(Debug, Clone, Copy)]
pub struct Current {
    pub version_id: i32,
    pub last_updated: DateTime<Utc>,
    pub deleted: bool,
}

/// One stored version; `body` is the JSON text (None for a delete tombstone).
#[derive(Debug)]
pub struct Version {
    pub resource_type: ResourceType,
    pub id: ResourceId,
    pub version_id: i32,
    pub last_updated: DateTime<Utc>,
    pub method: Method,
    pub body: Option<PhiBytes>,
}

pub(super) type VersionRow = (String, String, i32, DateTime<Utc>, String, Option<Vec<u8>>);

pub(super) fn decode(
    conn: &mut PgConnection,
    keyring: &Keyring,
    tenant: &TenantId,
    row: VersionRow,
) -> Result<Version, StoreError> {
    let (rtype, id, version_id, last_updated, method, body) = row;
    let resource_type = ResourceType::parse(&rtype)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown type {rtype}")))?;
    let id = ResourceId::parse(&id).ok_or_else(|| StoreError::Corrupt("bad stored id".into()))?;
    let body = match body {
        Some(ct) => {
            let binding = binding(tenant, resource_type, &id, version_id);
            Some(keyring.open(conn, &binding, &Ciphertext(ct))?)
        }
        None => None,
    };
    Ok(Version {
        resource_type,
        id,
        version_id,
        last_updated,
        method: Method::parse(&method)?,
        body,
    })
}

const VERSION_COLUMNS: (
    rv::resource_type,
    rv::id,
    rv::version_id,
    rv::last_updated,
    rv::method,
    rv::body,
) = (
    rv::resource_type,
    rv::id,
    rv::version_id,
    rv::last_updated,
    rv::method,
    rv::body,
);

/// What a version's ciphertext is bound to (AES-GCM associated data): a body
/// moved to another row does not decrypt.
pub(crate) fn binding<'a>(
    tenant: &'a TenantId,
    rtype: ResourceType,
    id: &'a ResourceId,
    version: i32,
) -> RowBinding<'a> {
    RowBinding {
        tenant: tenant.as_str(),
        resource_type: rtype.as_str(),
        id: id.as_str(),
        version,
    }
}

/// Locks the resource's current row for the rest of the transaction, creating a
/// placeholder first if the id is new, so that concurrent writers of one id
/// (update-as-create included) queue behind each other instead of racing.
/// Returns None for a new id (the placeholder has version 0).
pub fn lock_current(
    conn: &mut PgConnection,
    tenant: &TenantId,
    rtype: ResourceType,
    id: &ResourceId,
) -> Result<Option<Current>, StoreError> {
    diesel::insert_into(cur::table)
        .values((
            cur::tenant_id.eq(tenant.as_str()),
            cur::resource_type.eq(rtype.as_str()),
            cur::id.eq(id.as_str()),
            cur::version_id.eq(0),
            cur::last_updated.eq(Utc::now()),
            cur::deleted.eq(true),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    let (version_id, last_updated, deleted) = cur::table
        .find((tenant.as_str(), rtype.as_str(), id.as_str()))
        .select((cur::version_id, cur::last_updated, cur::deleted))
        .for_update()
        .first::<(i32, DateTime<Utc>, bool)>(conn)?;
    Ok((version_id > 0).then_some(Current {
        version_id,
        last_updated,
        deleted,
    }))
}

/// Locks the current rows of `targets` that exist, in (type, id) order, for
/// the rest of the transaction. A transaction that updates several resources
/// takes their row locks here first, so two that update the same resources in
/// different entry orders queue instead of deadlocking; [`lock_current`] then
/// finds each row already held.
pub fn lock_existing(
    conn: &mut PgConnection,
    tenant: &TenantId,
    targets: &[(ResourceType, &ResourceId)],
) -> Result<(), StoreError> {
    let (types, ids): (Vec<&str>, Vec<&str>) = targets
        .iter()
        .map(|(t, i)| (t.as_str(), i.as_str()))
        .unzip();
    // FOR UPDATE locks rows as they leave the sort, so in this order
    // (https://www.postgresql.org/docs/15/sql-select.html#SQL-FOR-UPDATE-SHARE).
    super::stmt::Stmt::new(
        "SELECT r.id FROM resources r JOIN unnest($2::text[], $3::text[]) AS u(t, i) \
         ON r.tenant_id = $1 AND r.resource_type = u.t AND r.id = u.i \
         ORDER BY r.resource_type, r.id FOR UPDATE OF r",
    )
    .bind::<diesel::sql_types::Text, _>(tenant.as_str())
    .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(types)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(ids)
    .execute(conn)?;
    Ok(())
}

pub fn current(
    conn: &mut PgConnection,
    tenant: &TenantId,
    rtype: ResourceType,
    id: &ResourceId,
) -> Result<Option<Current>, StoreError> {
    let row = cur::table
        .find((tenant.as_str(), rtype.as_str(), id.as_str()))
        .select((cur::version_id, cur::last_updated, cur::deleted))
        .first::<(i32, DateTime<Utc>, bool)>(conn)
        .optional()?;
    Ok(row
        .filter(|(v, _, _)| *v > 0)
        .map(|(version_id, last_updated, deleted)| Current {
            version_id,
            last_updated,
            deleted,
        }))
}

/// The current version (tombstones included, so the caller can answer 410).
pub fn read(
    conn: &mut PgConnection,
    keyring: &Keyring,
    tenant: &TenantId,
    rtype: ResourceType,
    id: &ResourceId,
) -> Result<Option<Version>, StoreError> {
    let row = cur::table
        .inner_join(
            rv::table.on(rv::tenant_id
                .eq(cur::tenant_id)
                .and(rv::resource_type.eq(cur::resource_type))
                .and(rv::id.eq(cur::id))
                .and(rv::version_id.eq(cur::version_id))),
        )
        .filter(cur::tenant_id.eq(tenant.as_str()))
        .filter(cur::resource_type.eq(rtype.as_str()))
        .filter(cur::id.eq(id.as_str()))
        .select(VERSION_COLUMNS)
        .first::<VersionRow>(conn)
        .optional()?;
    row.map(|r| decode(conn, keyring, tenant, r)).transpose()
}

/// Current versions of several resources of one type in one query, in the
/// order of `ids`; unknown ids are left out (deleted ones come back with no
/// body), and so are versions that do not open (noted in `skipped`).
pub fn read_many(
    conn: &mut PgConnection,
    keyring: &Keyring,
    tenant: &TenantId,
    rtype: ResourceType,
    ids: &[ResourceId],
    skipped: &mut Vec<Unreadable>,
) -> Result<Vec<Version>, StoreError> {
    let wanted: Vec<&str> = ids.iter().map(ResourceId::as_str).collect();
    let rows = cur::table
        .inner_join(
            rv::table.on(rv::tenant_id
                .eq(cur::tenant_id)
                .and(rv::resource_type.eq(cur::resource_type))
                .and(rv::id.eq(cur::id))
                .and(rv::version_id.eq(cur::version_id))),
        )
        .filter(cur::tenant_id.eq(tenant.as_str()))
        .filter(cur::resource_type.eq(rtype.as_str()))
        .filter(cur::id.eq_any(&wanted))
        .select(VERSION_COLUMNS)
        .load::<VersionRow>(conn)?;
    let mut found = Vec::with_capacity(rows.len());
    for row in rows {
        let id = row.1.clone();
        let opened = decode(conn, keyring, tenant, row);
        found.extend(skip_unreadable(opened, rtype.as_str(), &id, skipped)?);
    }
    let pos = |v: &Version| wanted.iter().position(|w| *w == v.id.as_str());
    found.sort_by_key(pos);
    Ok(found)
}

pub fn read_version(
    conn: &mut PgConnection,
    keyring: &Keyring,
    tenant: &TenantId,
    rtype: ResourceType,
    id: &ResourceId,
    version_id: i32,
) -> Result<Option<Version>, StoreError> {
    let row = rv::table
        .find((tenant.as_str(), rtype.as_str(), id.as_str(), version_id))
        .select(VERSION_COLUMNS)
        .first::<VersionRow>(conn)
        .optional()?;
    row.map(|r| decode(conn, keyring, tenant, r)).transpose()
}

/// Which history (http://hl7.org/fhir/R4/http.html#history).
pub enum HistoryScope<'a> {
    Instance(ResourceType, &'a ResourceId),
    Type(ResourceType),
    /// Every served type (AuditEvents, kept apart, have no history).
    System,
}

/// Paging position for history: strictly older than this (last_updated, type, id, version).
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryCursor {
    pub last_updated: DateTime<Utc>,
    pub resource_type: String,
    pub id: String,
    pub version_id: i32,
}

/// The versions a history interaction covers: its scope, from `since` on (inclusive).
fn scoped<'a>(
    tenant: &'a TenantId,
    scope: &HistoryScope<'a>,
    since: Option<DateTime<Utc>>,
) -> rv::BoxedQuery<'a, diesel::pg::Pg> {
    let mut q = rv::table
        .filter(rv::tenant_id.eq(tenant.as_str()))
        .into_boxed();
    match scope {
        HistoryScope::Instance(t, id) => {
            q = q
                .filter(rv::resource_type.eq(t.as_str()))
                .filter(rv::id.eq(id.as_str()));
        }
        HistoryScope::Type(t) => q = q.filter(rv::resource_type.eq(t.as_str())),
        HistoryScope::System => {}
    }
    if let Some(since) = since {
        q = q.filter(rv::last_updated.ge(since));
    }
    q
}

/// History newest first, `_since` inclusive, at most `count` entries after `cursor`.
#[allow(clippy::too_many_arguments)]
pub fn history(
    conn: &mut PgConnection,
    keyring: &Keyring,
    tenant: &TenantId,
    scope: &HistoryScope<'_>,
    since: Option<DateTime<Utc>>,
    cursor: Option<&HistoryCursor>,
    count: i64,
) -> Result<Vec<Version>, StoreError> {
    let mut q = scoped(tenant, scope, since);
    if let Some(c) = cursor {
        // Keyset paging on the sort key, so pages stay stable while new versions arrive.
        q = q.filter(
            rv::last_updated
                .lt(c.last_updated)
                .or(rv::last_updated.eq(c.last_updated).and(
                    rv::resource_type
                        .gt(c.resource_type.clone())
                        .or(rv::resource_type.eq(c.resource_type.clone()).and(
                            rv::id
                                .gt(c.id.clone())
                                .or(rv::id.eq(c.id.clone()).and(rv::version_id.lt(c.version_id))),
                        )),
                )),
        );
    }
    let rows = q
        .order((
            rv::last_updated.desc(),
            rv::resource_type.asc(),
            rv::id.asc(),
            rv::version_id.desc(),
        ))
        .limit(count)
        .select(VERSION_COLUMNS)
        .load::<VersionRow>(conn)?;
    rows.into_iter()
        .map(|r| decode(conn, keyring, tenant, r))
        .collect()
}

pub fn history_total(
    conn: &mut PgConnection,
    tenant: &TenantId,
    scope: &HistoryScope<'_>,
    since: Option<DateTime<Utc>>,
) -> Result<i64, StoreError> {
    Ok(scoped(tenant, scope, since).count().get_result(conn)?)
}
