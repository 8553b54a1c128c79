//! The rows a write produces, sent to PostgreSQL as one statement.
//!
//! A create used to cost five round trips (BEGIN, version and pointer, index
//! rows, AuditEvent, COMMIT) and a transaction Bundle three per entry. A
//! [`WriteSet`] gathers the version rows, current pointers, search-index rows
//! and AuditEvents of one or more writes and [`WriteSet::flush`]es them as a
//! single prepared statement (store/batch.rs).
//!
//! What a flush may not contain: two versions of one resource (the current
//! pointer's upsert would touch its row twice, which PostgreSQL refuses), and
//! index rows whose old rows still need deleting (that DELETE must run first,
//! as its own statement: [`super::index::delete`]). Anything that reads these
//! tables in the same transaction must flush first, or it will not see them.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use fhirgate_search::IndexEntry;

use super::audit::AuditRow;
use super::batch::{Builder, Col};
use super::index::IndexRows;
use super::resources::Method;
use super::StoreError;
use crate::crypto::{BlindIndexer, Keyring};
use crate::model::{ResourceId, ResourceType};
use crate::tenant::TenantId;

/// Version rows as column vectors.
#[derive(Default)]
struct Versions {
    rtype: Vec<String>,
    id: Vec<String>,
    version: Vec<i32>,
    last_updated: Vec<DateTime<Utc>>,
    method: Vec<String>,
    key_id: Vec<Option<i32>>,
    body: Vec<Option<Vec<u8>>>,
    deleted: Vec<bool>,
}

/// Pending rows of one tenant's writes; empty after each flush.
#[derive(Default)]
pub struct WriteSet {
    versions: Versions,
    /// By type, in type order: the statement's text then depends only on
    /// which types and tables have rows, not on entry order, and stays one
    /// prepared statement for each such set.
    index: BTreeMap<ResourceType, IndexRows>,
    audits: Vec<AuditRow>,
    /// The resources of `versions`, for [`WriteSet::has_version`] in constant
    /// time (a Bundle of 10,000 writes asks once per write).
    pending: HashSet<(ResourceType, ResourceId)>,
}

impl WriteSet {
    pub fn is_empty(&self) -> bool {
        self.versions.id.is_empty() && self.index.is_empty() && self.audits.is_empty()
    }

    /// True when a version of this resource is pending (a second one would
    /// have to wait for a flush).
    pub fn has_version(&self, rtype: ResourceType, id: &ResourceId) -> bool {
        self.pending.contains(&(rtype, id.clone()))
    }

    /// A new version (body None: a delete tombstone), sealed now, bound to
    /// (tenant, type, id, version); it also becomes the current version.
    #[allow(clippy::too_many_arguments)]
    #[tracing::instrument(skip(self, conn, keyring, body), fields(tenant = %tenant, rtype = %rtype, id = %id))]
    pub fn version(
        &mut self,
        conn: &mut PgConnection,
        keyring: &Keyring,
        tenant: &TenantId,
        rtype: ResourceType,
        id: &ResourceId,
        version_id: i32,
        last_updated: DateTime<Utc>,
        method: Method,
        body: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        let sealed = match body {
            Some(plain) => {
                let binding = super::resources::binding(tenant, rtype, id, version_id);
                let (key_id, ct) = keyring.seal(conn, &binding, plain)?;
                Some((key_id, ct.0))
            }
            None => None,
        };
        self.pending.insert((rtype, id.clone()));
        let v = &mut self.versions;
        v.rtype.push(rtype.as_str().to_owned());
        v.id.push(id.to_string());
        v.version.push(version_id);
        v.last_updated.push(last_updated);
        v.method.push(method.as_str().to_owned());
        v.deleted.push(sealed.is_none());
        let (key_id, body) = sealed.unzip();
        v.key_id.push(key_id);
        v.body.push(body);
        Ok(())
    }

    /// The search-index rows of a resource's new current version (its old
    /// rows, if any, already deleted).
    pub fn index(
        &mut self,
        indexer: &BlindIndexer,
        rtype: ResourceType,
        id: &ResourceId,
        entries: &[IndexEntry],
    ) {
        self.index.entry(rtype).or_default().add_resource(
            indexer,
            rtype.as_str(),
            id.as_str(),
            entries,
        );
    }

    /// An AuditEvent, sealed when flushed.
    pub fn audit(&mut self, row: AuditRow) {
        self.audits.push(row);
    }

    /// Sends everything pending as one statement and empties the set.
    pub fn flush(
        &mut self,
        conn: &mut PgConnection,
        keyring: &Keyring,
        tenant: &TenantId,
    ) -> Result<(), StoreError> {
        if self.is_empty() {
            return Ok(());
        }
        let WriteSet {
            versions,
            index,
            audits,
            pending: _,
        } = std::mem::take(self);
        let mut b = Builder::new(tenant);
        stage_versions(&mut b, versions);
        for (rtype, rows) in index {
            rows.stage(&mut b, rtype.as_str());
        }
        super::audit::stage(&mut b, conn, keyring, tenant, audits)?;
        b.execute(conn)
    }
}

/// The version rows and, for each, the current pointer moved to it.
fn stage_versions(b: &mut Builder, v: Versions) {
    if v.id.is_empty() {
        return;
    }
    let rtype = b.param(Col::Text(v.rtype));
    let id = b.param(Col::Text(v.id));
    let version = b.param(Col::Int(v.version));
    let updated = b.param(Col::Time(v.last_updated));
    let method = b.param(Col::Text(v.method));
    let key_id = b.param(Col::NInt(v.key_id));
    let body = b.param(Col::NBytes(v.body));
    let deleted = b.param(Col::Bool(v.deleted));
    b.push(format!(
        "INSERT INTO resource_versions \
         (tenant_id, resource_type, id, version_id, last_updated, method, key_id, body) \
         SELECT $1, x.* FROM unnest({rtype}, {id}, {version}, {updated}, {method}, {key_id}, {body}) AS x"
    ));
    b.push(format!(
        "INSERT INTO resources (tenant_id, resource_type, id, version_id, last_updated, deleted) \
         SELECT $1, x.* FROM unnest({rtype}, {id}, {version}, {updated}, {deleted}) AS x \
         ON CONFLICT (tenant_id, resource_type, id) DO UPDATE \
         SET version_id = EXCLUDED.version_id, last_updated = EXCLUDED.last_updated, deleted = EXCLUDED.deleted"
    ));
}
