//! Carrying out a transaction (all entries in one database transaction, in the
//! order of http://hl7.org/fhir/R4/http.html#trules) or a batch (each entry on
//! its own). Writes go through the same `Services` as single interactions, so
//! validation, encryption, indexing, double-booking and AuditEvents are the same.

use std::cell::RefCell;
use std::collections::HashMap;

use diesel::PgConnection;
use serde_json::{Map, Value};

use super::links::{Links, Mapped, Version};
use super::lookups::Known;
use super::refs::{Lookup, Rewrite};
use super::request::{Request, Target, Verb};
use crate::audit::{AuditRecord, Interaction};
use crate::fhir::engine::Services;
use crate::fhir::error::FhirError;
use crate::fhir::preconditions::etag;
use crate::fhir::preconditions::parse_etag;
use crate::fhir::resource::{check_resource, instant, IdRule};
use crate::fhir::search;
use crate::model::{ResourceId, ResourceType};
use crate::store::resources::{self, Method};
use crate::store::writes::WriteSet;

/// How a writer that is not an HTTP client wants an entry's resource combined
/// with the stored resource its PUT updates, instead of replacing it:
/// `merge(stored, entry)` (HL7 v2 ingest: `fhirgate_v2fhir::merge`).
pub type MergeFn =
    Box<dyn Fn(&Map<String, Value>, Map<String, Value>) -> Map<String, Value> + Send + Sync>;

/// [`MergeFn`]s by entry fullUrl; an HTTP Bundle has none.
pub type Merges = HashMap<String, MergeFn>;

pub struct Env<'a> {
    pub svc: &'a Services,
    pub base: &'a str,
    pub template: &'a AuditRecord,
    pub merges: &'a Merges,
    /// The transaction's conditional lookups, fetched together (lookups.rs).
    pub known: RefCell<Known>,
}

/// The id an entry's POST or PUT writes ([`Env::assign`]).
pub struct Assigned {
    pub id: ResourceId,
    /// The answer, when there is nothing to write (ifNoneExist matched).
    pub done: Option<Answer>,
    /// Generated for this entry: no stored resource has it.
    pub fresh: bool,
    /// The version the resource has once the transaction is done.
    pub version: Version,
}

impl Assigned {
    fn fresh() -> Self {
        Assigned {
            id: ResourceId::generate(),
            done: None,
            fresh: true,
            version: Version::Known(1),
        }
    }

    pub(super) fn existing(id: &ResourceId) -> Self {
        Assigned {
            id: id.clone(),
            done: None,
            fresh: false,
            version: Version::Next,
        }
    }
}

/// What one entry answered (Bundle.entry.response, and a resource for GET).
#[derive(Default)]
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub resource: Option<Vec<u8>>,
}

impl<'a> Env<'a> {
    pub(super) fn audit(&self, interaction: Interaction, rtype: ResourceType) -> AuditRecord {
        let mut a = self.template.clone();
        a.interaction = interaction;
        a.resource_type = Some(rtype.as_str().to_owned());
        a.id = None;
        a.version = None;
        a.query = None;
        a.patients.clear();
        a.stored = false;
        a
    }

    /// Ids matching a conditional search (at most 2: one is all a conditional needs to know).
    pub(super) fn find(
        &self,
        conn: &mut PgConnection,
        rtype: ResourceType,
        query: &[(String, String)],
    ) -> Result<Vec<ResourceId>, FhirError> {
        let key = search::criteria_key(&self.svc.tenant, rtype, query);
        if let Some(ids) = self.known.borrow().get(&key) {
            return Ok(ids.clone());
        }
        let criteria = search::conditional_criteria(&self.svc.model.registry, rtype, query)?;
        // The lock of a single conditional interaction: racing transactions with the
        // same ifNoneExist or conditional update make one resource (issue #4).
        search::lock_criteria(conn, &key)?;
        self.svc.find_ids(conn, rtype, &criteria, 2)
    }

    /// `Type?query` in a resource: exactly one match (http.html#trules).
    fn resolve(
        &self,
        conn: &mut PgConnection,
        rtype: ResourceType,
        q: &str,
    ) -> Result<String, FhirError> {
        let pairs = serde_urlencoded::from_str::<Vec<(String, String)>>(q).map_err(|_| {
            FhirError::invalid(
                fhirgate_validate::IssueCode::Invalid,
                None,
                "malformed conditional reference",
            )
        })?;
        match self.find(conn, rtype, &pairs)?.as_slice() {
            [one] => Ok(format!("{rtype}/{one}")),
            [] => Err(FhirError::PreconditionFailed(format!(
                "the conditional reference {rtype}?{q} matches no resource"
            ))),
            _ => Err(FhirError::PreconditionFailed(format!(
                "the conditional reference {rtype}?{q} matches more than one resource"
            ))),
        }
    }

    /// How entry `r`'s resource is rewritten (refs.rs).
    pub(super) fn rewrite<'r>(
        &'r self,
        r: &'r Request,
        links: &'r Links,
        is_type: &'r dyn Fn(&str) -> bool,
    ) -> Rewrite<'r> {
        Rewrite {
            registry: &self.svc.model.registry,
            is_type,
            links,
            own: r.full_url.as_deref(),
            base: self.base,
        }
    }

    pub(super) fn written(
        rtype: ResourceType,
        id: &ResourceId,
        version: i32,
        status: u16,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Answer {
        Answer {
            status,
            location: Some(format!("{rtype}/{id}/_history/{version}")),
            etag: Some(etag(version)),
            last_modified: Some(instant(at)),
            resource: None,
        }
    }

    /// The id a POST or PUT will write, decided before any write so that other
    /// entries' references can name it, and its answer already when a POST's
    /// ifNoneExist matched (the existing resource).
    pub(super) fn assign(
        &self,
        conn: &mut PgConnection,
        r: &Request,
    ) -> Result<Assigned, FhirError> {
        let rtype = r.target.rtype();
        match (&r.verb, &r.target) {
            (Verb::Post, _) => {
                if let Some(pairs) = r.if_none_exist_query() {
                    // http.html#ccreate: one match, no create (200); several, 412.
                    match self.find(conn, rtype, &pairs)?.as_slice() {
                        [] => {}
                        [one] => {
                            let cur = self.svc.read(conn, rtype, one, None)?.ok_or_else(|| {
                                FhirError::Internal("matched resource vanished".into())
                            })?;
                            return Ok(Assigned {
                                id: one.clone(),
                                done: Some(Self::written(
                                    rtype,
                                    one,
                                    cur.version_id,
                                    200,
                                    cur.last_updated,
                                )),
                                fresh: false,
                                version: Version::Known(cur.version_id),
                            });
                        }
                        _ => {
                            return Err(FhirError::PreconditionFailed(
                                "ifNoneExist matches more than one resource".into(),
                            ))
                        }
                    }
                }
                Ok(Assigned::fresh())
            }
            (_, Target::Instance(_, id)) => Ok(Assigned::existing(id)),
            (_, Target::Search(_, q)) => match self.find(conn, rtype, q)?.as_slice() {
                [] => Ok(Assigned::fresh()),
                [one] => Ok(Assigned::existing(one)),
                _ => Err(FhirError::PreconditionFailed(
                    "the conditional update matches more than one resource".into(),
                )),
            },
            (_, Target::Type(_)) => Err(FhirError::Internal("no id for a type-level entry".into())),
        }
    }

    /// The resource of a POST or PUT, references rewritten, merged with the
    /// stored resource where the writer asked for it ([`Merges`]), and validated.
    /// `fresh`: `id` was generated for this entry (nothing is stored under it).
    pub(super) fn prepare(
        &self,
        conn: &mut PgConnection,
        r: &Request,
        id: &ResourceId,
        fresh: bool,
        links: &Links,
    ) -> Result<Map<String, Value>, FhirError> {
        let rtype = r.target.rtype();
        let mut v = Value::Object(r.resource.clone().unwrap_or_default());
        let is_type = |t: &str| self.svc.model.validator.is_resource_type(t);
        self.rewrite(r, links, &is_type)
            .apply(&mut Lookups { env: self, conn }, rtype, &mut v)?;
        let Value::Object(mut map) = v else {
            return Err(FhirError::Internal("resource changed shape".into()));
        };
        let merge = r.full_url.as_deref().and_then(|u| self.merges.get(u));
        if let (Some(merge), false, Verb::Put) = (merge, fresh, r.verb) {
            // The row lock the update takes anyway, taken before the read, so
            // that no other writer changes what is merged (a second FOR UPDATE
            // of the same row in this transaction is free).
            resources::lock_existing(conn, &self.svc.tenant, &[(rtype, id)])?;
            let stored = self
                .svc
                .read(conn, rtype, id, None)?
                .and_then(|cur| cur.body);
            if let Some(body) = stored {
                let stored: Map<String, Value> = serde_json::from_slice(&body.0)
                    .map_err(|e| FhirError::Internal(format!("stored resource: {e}")))?;
                map = merge(&stored, map);
            }
        }
        let rule = match (&r.verb, &r.target) {
            (Verb::Put, Target::Instance(..)) => IdRule::MustEqual(id),
            (Verb::Put, _) => IdRule::Optional,
            _ => IdRule::Ignore,
        };
        let mut map = check_resource(map, rtype, &self.svc.model, rule)?;
        if r.verb == Verb::Put {
            map.insert("id".into(), Value::String(id.to_string()));
        }
        Ok(map)
    }

    /// A POST or PUT, its rows left in `ws` (store/writes.rs) for the caller
    /// to flush before anything reads them.
    /// `fresh`: the id was generated for this entry (a conditional update
    /// that matched nothing), so no other writer can hold it and there is no
    /// current row to lock.
    pub(super) fn write(
        &self,
        conn: &mut PgConnection,
        ws: &mut WriteSet,
        r: &Request,
        id: ResourceId,
        fresh: bool,
        map: Map<String, Value>,
    ) -> Result<Answer, FhirError> {
        let rtype = r.target.rtype();
        if r.verb == Verb::Post {
            let mut audit = self.audit(Interaction::Create, rtype);
            let w = self
                .svc
                .create_staged(conn, ws, rtype, id, map, &mut audit)?;
            return Ok(Self::written(
                rtype,
                &w.id,
                w.version_id,
                201,
                w.last_updated,
            ));
        }
        let if_match = match &r.if_match {
            Some(m) => {
                Some(parse_etag(m).ok_or_else(|| crate::fhir::preconditions::bad_if_match(m))?)
            }
            None => None,
        };
        let mut audit = self.audit(Interaction::Update, rtype);
        let w = self.svc.update_staged(
            conn,
            ws,
            rtype,
            &id,
            map,
            if_match,
            Method::Put,
            fresh,
            &mut audit,
        )?;
        Ok(Self::written(
            rtype,
            &w.id,
            w.version_id,
            if w.created { 201 } else { 200 },
            w.last_updated,
        ))
    }

    /// The resource a DELETE names; None for a conditional delete matching nothing.
    pub(super) fn delete_target(
        &self,
        conn: &mut PgConnection,
        r: &Request,
    ) -> Result<Option<ResourceId>, FhirError> {
        let rtype = r.target.rtype();
        match &r.target {
            Target::Instance(_, id) => Ok(Some(id.clone())),
            Target::Search(_, q) => match self.find(conn, rtype, q)?.as_slice() {
                // http.html#3.1.0.7.1: none is not an error; several get 412.
                [] => Ok(None),
                [one] => Ok(Some(one.clone())),
                _ => Err(FhirError::PreconditionFailed(
                    "the conditional delete matches more than one resource".into(),
                )),
            },
            Target::Type(_) => Err(FhirError::MethodNotAllowed(
                "DELETE needs Type/id or Type?query".into(),
            )),
        }
    }

    pub(super) fn delete(
        &self,
        conn: &mut PgConnection,
        r: &Request,
        id: Option<ResourceId>,
    ) -> Result<Answer, FhirError> {
        if let Some(id) = id {
            let mut audit = self.audit(Interaction::Delete, r.target.rtype());
            self.svc.delete(conn, r.target.rtype(), &id, &mut audit)?;
        }
        Ok(Answer {
            status: 204,
            ..Answer::default()
        })
    }
}

/// The database lookups of a rewrite (refs.rs), on the transaction's connection.
struct Lookups<'e, 'a, 'c> {
    env: &'e Env<'a>,
    conn: &'c mut PgConnection,
}

impl Lookup for Lookups<'_, '_, '_> {
    fn conditional(&mut self, rtype: ResourceType, query: &str) -> Result<String, FhirError> {
        self.env.resolve(self.conn, rtype, query)
    }

    /// The update will write one past the current version; the row is locked
    /// first (as the update itself does, which then finds it held), so that
    /// no other writer moves the version in between.
    fn next_version(&mut self, target: &Mapped) -> Result<i32, FhirError> {
        let current =
            resources::lock_current(self.conn, &self.env.svc.tenant, target.rtype, &target.id)?;
        Ok(current.map_or(1, |c| c.version_id + 1))
    }
}
