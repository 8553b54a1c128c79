//! Every read of stored resources goes through these `Services` methods, each
//! asking the decision point (access.rs) before anything is decrypted: a
//! single resource is refused (403), a resource among several is left out of
//! the result (and its refusal audited), as a search leaves out what it may
//! not show. A test below checks that nothing else calls the store's read
//! functions; tests/api/decision_point.rs walks every route with a principal
//! refused everything.

use chrono::{DateTime, Utc};
use diesel::PgConnection;

use super::access::{Action, Allowance};
use super::Services;
use crate::fhir::error::FhirError;
use crate::fhir::search;
use crate::model::{ResourceId, ResourceType, Storage};
use crate::store::resources::{self, HistoryCursor, HistoryScope, Method, Version};
use crate::store::{self, Unreadable};

pub use crate::fhir::search::bundle::Bodies;

impl Services {
    /// The current version of `rtype/id` (or version `version`): None when it
    /// never existed; a deleted one has no body.
    pub fn read(
        &self,
        conn: &mut PgConnection,
        rtype: ResourceType,
        id: &ResourceId,
        version: Option<i32>,
    ) -> Result<Option<Version>, FhirError> {
        self.decide(Action::Read, rtype, Some(id))?;
        self.confine_one(conn, Action::Read, rtype, id)?;
        if !versioned(rtype) {
            let row = store::audit::read(conn, &self.keyring, &self.tenant, id)?;
            return Ok(row
                .filter(|_| version.is_none_or(|v| v == store::audit::AUDIT_VERSION))
                .map(|(recorded, body)| Version {
                    resource_type: rtype,
                    id: id.clone(),
                    version_id: store::audit::AUDIT_VERSION,
                    last_updated: recorded,
                    method: Method::Post,
                    body: Some(body),
                }));
        }
        Ok(match version {
            None => resources::read(conn, &self.keyring, &self.tenant, rtype, id)?,
            Some(v) => resources::read_version(conn, &self.keyring, &self.tenant, rtype, id, v)?,
        })
    }

    /// Whether [`Services::read`] of a current version of `rtype` may be one
    /// statement that sets the tenant itself (`Db::read_setting_tenant`): for
    /// a principal who may read the whole type (a SMART `*/rtype.r` scope
    /// without a query, any role that reads everything), since no statement
    /// may run before it and confinement to a compartment would be one.
    pub fn read_current_alone(&self, rtype: ResourceType) -> bool {
        versioned(rtype) && self.principal().allowance(Action::Read, rtype) == Allowance::All
    }

    /// The read of [`Services::read_current_alone`]: the first statement of
    /// its unit of work.
    pub fn read_current_setting_tenant(
        &self,
        conn: &mut PgConnection,
        rtype: ResourceType,
        id: &ResourceId,
    ) -> Result<Option<Version>, FhirError> {
        self.decide(Action::Read, rtype, Some(id))?;
        // What read_current_alone admitted: nothing to confine, so no
        // statement is owed before this one.
        if !self.read_current_alone(rtype) {
            return Err(FhirError::Internal(format!(
                "a confined read of {rtype} cannot set its own tenant"
            )));
        }
        Ok(store::tenant_reads::read_setting_tenant(
            conn,
            &self.keyring,
            &self.tenant,
            rtype,
            id,
        )?)
    }

    /// Current bodies of those of `ids` (all of one type) the principal may
    /// read, in order, skipping deleted ones and, noted in `skipped`, those
    /// that do not open.
    pub fn bodies(
        &self,
        conn: &mut PgConnection,
        rtype: ResourceType,
        ids: &[ResourceId],
        skipped: &mut Vec<Unreadable>,
    ) -> Result<Bodies, FhirError> {
        let permitted: Vec<ResourceId>;
        let ids = if self.principal().permits_all() {
            ids
        } else {
            permitted = ids
                .iter()
                .filter(|id| self.permits(Action::Read, rtype, Some(id)))
                .cloned()
                .collect();
            &permitted
        };
        let confined;
        let ids = if self.principal().permits_all() {
            ids
        } else {
            confined = self.confine_ids(conn, Action::Read, rtype, ids.to_vec())?;
            &confined
        };
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        if !versioned(rtype) {
            return Ok(
                store::audit::read_many(conn, &self.keyring, &self.tenant, ids, skipped)?
                    .into_iter()
                    .map(|(id, b)| (rtype, id, b))
                    .collect(),
            );
        }
        Ok(
            resources::read_many(conn, &self.keyring, &self.tenant, rtype, ids, skipped)?
                .into_iter()
                .filter_map(|v| v.body.map(|b| (rtype, v.id, b)))
                .collect(),
        )
    }

    /// A page of history (http.html#history), leaving out the versions the
    /// principal may not read, and the number of versions in scope.
    pub fn history(
        &self,
        conn: &mut PgConnection,
        scope: &HistoryScope<'_>,
        since: Option<DateTime<Utc>>,
        cursor: Option<&HistoryCursor>,
        count: i64,
    ) -> Result<(Vec<Version>, i64), FhirError> {
        match scope {
            HistoryScope::Instance(t, id) => {
                self.decide(Action::Read, *t, Some(id))?;
                self.confine_one(conn, Action::Read, *t, id)?;
            }
            HistoryScope::Type(t) => self.decide(Action::Search, *t, None)?,
            HistoryScope::System => {}
        }
        let total = resources::history_total(conn, &self.tenant, scope, since)?;
        let mut versions = resources::history(
            conn,
            &self.keyring,
            &self.tenant,
            scope,
            since,
            cursor,
            count,
        )?;
        if !self.principal().permits_all() {
            versions.retain(|v| self.permits(Action::Read, v.resource_type, Some(&v.id)));
            let mut within: Vec<(ResourceType, ResourceId)> = Vec::new();
            for t in ResourceType::ALL {
                let mut ids: Vec<ResourceId> = versions
                    .iter()
                    .filter(|v| v.resource_type == t)
                    .map(|v| v.id.clone())
                    .collect();
                ids.sort();
                ids.dedup();
                for id in self.confine_ids(conn, Action::Read, t, ids)? {
                    within.push((t, id));
                }
            }
            versions.retain(|v| {
                within
                    .iter()
                    .any(|(t, id)| *t == v.resource_type && *id == v.id)
            });
        }
        Ok((versions, total))
    }

    /// The ids of `rtype` matching `criteria`, at most `limit` (a conditional
    /// lookup): a search of `rtype` and of every type its chains reach.
    pub fn find_ids(
        &self,
        conn: &mut PgConnection,
        rtype: ResourceType,
        criteria: &[search::Criterion],
        limit: i64,
    ) -> Result<Vec<ResourceId>, FhirError> {
        self.decide_search(rtype, criteria)?;
        let ix = self.keyring.indexer(conn, self.tenant.as_str())?;
        let confinement = self.confinement(Action::Search);
        search::find_ids(
            conn,
            &ix,
            &self.tenant,
            rtype,
            criteria,
            confinement.as_ref(),
            limit,
        )
    }

    /// Decides a search of `rtype` and of each type a chain or `_has` of
    /// `criteria` searches (search.html#chaining, #has): each is a search of
    /// that type whose matches shape the answer.
    pub fn decide_search(
        &self,
        rtype: ResourceType,
        criteria: &[search::Criterion],
    ) -> Result<(), FhirError> {
        self.decide(Action::Search, rtype, None)?;
        let mut reached = Vec::new();
        for c in criteria {
            types_reached(c, &mut reached);
        }
        reached.sort();
        reached.dedup();
        for t in reached {
            self.decide(Action::Search, t, None)?;
        }
        Ok(())
    }
}

/// Whether `rtype` lives in the versioned resource tables (AuditEvents live in
/// the append-only audit log, one version each).
fn versioned(rtype: ResourceType) -> bool {
    rtype.descriptor().storage == Storage::Versioned
}

/// The types a criterion searches besides its own: chain targets, `_has` sources.
fn types_reached(c: &search::Criterion, out: &mut Vec<ResourceType>) {
    match c {
        search::Criterion::Leaf(_) => {}
        search::Criterion::Chain { branches, .. } => {
            for (t, inner) in branches {
                out.push(*t);
                types_reached(inner, out);
            }
        }
        search::Criterion::Has { source, inner, .. } => {
            out.push(*source);
            types_reached(inner, out);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    /// The store's resource reads and the search executors are called from the
    /// decision point's own files only: a new path that reads around it fails here.
    #[test]
    fn store_reads_are_reached_only_through_the_decision_point() {
        const READS: [&str; 10] = [
            "resources::read(",
            "tenant_reads::read_setting_tenant(",
            "resources::read_version(",
            "resources::read_many(",
            "resources::history(",
            "audit::read(",
            "audit::read_many(",
            "search::find_ids(",
            "search::find_many(",
            "::execute(conn",
        ];
        // Each allowed call is preceded by its decision in the same function.
        const ALLOWED: [&str; 4] = [
            "src/fhir/engine/reads.rs",
            // The confinement of a decided access: which of the ids are within.
            "src/fhir/engine/confine.rs",
            "src/fhir/engine/search.rs",
            "src/fhir/engine/transaction/lookups.rs",
        ];
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut stack = vec![root.join("src")];
        let mut offenders = Vec::new();
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                if rel.starts_with("src/store/") || ALLOWED.contains(&rel.as_str()) {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                for (n, line) in text.lines().enumerate() {
                    let code = line.split("//").next().unwrap_or("");
                    if READS.iter().any(|r| code.contains(r)) && !code.contains("fn ") {
                        offenders.push(format!("{rel}:{}: {}", n + 1, line.trim()));
                    }
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "reads around the decision point:\n{}",
            offenders.join("\n")
        );
    }
}
