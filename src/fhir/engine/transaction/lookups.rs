//! A transaction's conditional lookups, all at once (http.html#trules: ifNoneExist,
//! conditional updates and conditional references are resolved against the
//! database as it was before the transaction's creates and updates).
//!
//! Each conditional costs an advisory lock and a search; a Bundle made from an
//! HL7 v2 message has one per resource. [`Env::prefetch`] takes every lock in
//! one statement and runs every search in another, before the first entry
//! needs them; [`Env::find`] then answers from what was fetched. Nothing is
//! written between the prefetch and the last lookup (the creates and updates
//! are flushed after every entry is prepared, order.rs), so the answers are
//! the ones each lookup would have got on its own.

use std::collections::{HashMap, HashSet};

use diesel::PgConnection;

use super::exec::Env;
use super::refs::conditional_references;
use super::request::{Request, Target, Verb};
use crate::fhir::error::FhirError;
use crate::fhir::search;
use crate::model::{ResourceId, ResourceType};

/// What [`Env::prefetch`] found, by lock key (search::criteria_key).
#[derive(Default)]
pub struct Known(HashMap<String, Vec<ResourceId>>);

impl Known {
    pub fn get(&self, key: &str) -> Option<&Vec<ResourceId>> {
        self.0.get(key)
    }
}

fn pairs(q: &str) -> Option<Vec<(String, String)>> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok()
}

impl Env<'_> {
    /// Locks and looks up every conditional of the creates and updates in
    /// `writes`. A conditional whose criteria do not parse is left out: its
    /// entry reports the error itself, naming the entry.
    pub(super) fn prefetch(
        &self,
        conn: &mut PgConnection,
        writes: &[&Request],
    ) -> Result<Known, FhirError> {
        let mut wanted: Vec<(ResourceType, Vec<(String, String)>)> = Vec::new();
        for r in writes {
            let rtype = r.target.rtype();
            match (&r.verb, &r.target) {
                (Verb::Post, _) => wanted.extend(r.if_none_exist_query().map(|p| (rtype, p))),
                (Verb::Put, Target::Search(_, q)) => wanted.push((rtype, q.clone())),
                _ => {}
            }
            if let (Verb::Post | Verb::Put, Some(body)) = (&r.verb, &r.resource) {
                let mut refs = Vec::new();
                for child in body.values() {
                    conditional_references(child, &mut refs);
                }
                wanted.extend(refs.into_iter().filter_map(|(t, q)| Some((t, pairs(&q)?))));
            }
        }
        let registry = &self.svc.model.registry;
        let (mut seen, mut keys, mut lookups) = (HashSet::new(), Vec::new(), Vec::new());
        for (rtype, q) in wanted {
            let key = search::criteria_key(&self.svc.tenant, rtype, &q);
            if seen.contains(&key) {
                continue;
            }
            if let Ok(criteria) = search::conditional_criteria(registry, rtype, &q) {
                self.svc.decide_search(rtype, &criteria)?;
                seen.insert(key.clone());
                keys.push(key);
                lookups.push((rtype, criteria));
            }
        }
        if keys.is_empty() {
            return Ok(Known::default());
        }
        search::lock_many(conn, &keys)?;
        let ix = self.svc.keyring.indexer(conn, self.svc.tenant.as_str())?;
        // Confined like every search: a conditional of a patient-scoped
        // token matches only within the launch patient's compartment.
        let confinement = self.svc.confinement(super::super::access::Action::Search);
        let found = search::find_many(conn, &ix, &self.svc.tenant, &lookups, confinement.as_ref())?;
        Ok(Known(keys.into_iter().zip(found).collect()))
    }
}
