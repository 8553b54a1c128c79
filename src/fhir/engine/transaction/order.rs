//! The order of a transaction (http://hl7.org/fhir/R4/http.html#trules: DELETE,
//! POST, PUT and PATCH, GET) and of
//! a batch entry; `exec.rs` carries out each step.

use std::collections::HashSet;

use diesel::{Connection, PgConnection};

use super::exec::{Answer, Assigned, Env};
use super::links::{Links, Mapped};
use super::name_entry;
use super::request::{Request, Verb};
use crate::fhir::error::FhirError;
use crate::model::{ResourceId, ResourceType};
use crate::store::resources;
use crate::store::writes::WriteSet;

/// Records that a transaction entry touches `id`; a second entry touching it fails.
fn claim(
    seen: &mut HashSet<(ResourceType, ResourceId)>,
    r: &Request,
    id: &ResourceId,
) -> Result<(), FhirError> {
    let rtype = r.target.rtype();
    if seen.insert((rtype, id.clone())) {
        return Ok(());
    }
    Err(name_entry(
        FhirError::invalid(
            fhirgate_validate::IssueCode::Invalid,
            None,
            format!(
                "{rtype}/{id} is already written or deleted by another entry of this transaction"
            ),
        ),
        &r.label(),
    ))
}

impl Env<'_> {
    /// A whole transaction: deletes, then ids for creates and updates (so that
    /// fullUrls can be mapped), then creates, updates and reads (http.html#trules).
    /// Any failure returns the error naming its entry; the caller rolls back.
    pub fn transaction(
        &self,
        conn: &mut PgConnection,
        reqs: &[Request],
    ) -> Result<Vec<(usize, Answer)>, FhirError> {
        // A retried transaction (mod.rs) must not see the last attempt's lookups.
        *self.known.borrow_mut() = Default::default();
        let mut answers = Vec::with_capacity(reqs.len());
        // http.html#trules: "If any resource identities (including resolved
        // identities from conditional update/delete) overlap in steps 1-3, then the
        // transaction SHALL fail."
        let mut identities = HashSet::new();
        let mut ordered: Vec<&Request> = reqs.iter().collect();
        ordered.sort_by_key(|r| (r.verb.step(), r.index));
        for r in ordered.iter().filter(|r| r.verb == Verb::Delete) {
            let named = |e| name_entry(e, &r.label());
            let id = self.delete_target(conn, r).map_err(named)?;
            if let Some(id) = &id {
                claim(&mut identities, r, id)?;
            }
            answers.push((r.index, self.delete(conn, r, id).map_err(named)?));
        }
        let writes: Vec<&Request> = ordered
            .iter()
            .copied()
            .filter(|r| matches!(r.verb, Verb::Post | Verb::Put | Verb::Patch))
            .collect();
        *self.known.borrow_mut() = self.prefetch(conn, &writes)?;
        let mut links = Links::default();
        let mut plans = Vec::new();
        for r in writes.iter().copied() {
            let named = |e| name_entry(e, &r.label());
            if r.verb == Verb::Patch {
                let id = self.patch_target(conn, r).map_err(named)?;
                claim(&mut identities, r, &id)?;
                plans.push((r, Assigned::existing(&id)));
                continue;
            }
            let a = self.assign(conn, r).map_err(named)?;
            claim(&mut identities, r, &a.id)?;
            if let Some(u) = &r.full_url {
                let target = Mapped {
                    rtype: r.target.rtype(),
                    id: a.id.clone(),
                    version: a.version,
                };
                links.insert(u, target);
            }
            plans.push((r, a));
        }
        let existing: Vec<(ResourceType, &ResourceId)> = plans
            .iter()
            .filter(|(_, a)| !a.fresh && a.done.is_none())
            .map(|(r, a)| (r.target.rtype(), &a.id))
            .collect();
        if existing.len() > 1 {
            resources::lock_existing(conn, &self.svc.tenant, &existing)?;
        }
        // POSTs, then PUTs and PATCHes in entry order (http.html#trules step 3).
        let mut prepared = Vec::new();
        for (r, a) in plans {
            let Assigned {
                id, done, fresh, ..
            } = a;
            match done {
                Some(a) => answers.push((r.index, a)),
                None if r.verb == Verb::Patch => prepared.push((r, id, fresh, None)),
                None => {
                    let map = self
                        .prepare(conn, r, &id, fresh, &links)
                        .map_err(|e| name_entry(e, &r.label()))?;
                    prepared.push((r, id, fresh, Some(map)));
                }
            }
        }
        // The creates' and updates' rows go to PostgreSQL together, in one
        // statement (store/writes.rs). Nothing in this loop reads them: every
        // entry touches its own resource (claimed above), and references were
        // resolved in `prepare`. A failure of that statement names no entry.
        let mut ws = WriteSet::default();
        for (r, id, fresh, map) in prepared {
            let answer = match map {
                Some(map) => self.write(conn, &mut ws, r, id, fresh, map),
                None => self.patch(conn, r, &id, &links),
            };
            answers.push((r.index, answer.map_err(|e| name_entry(e, &r.label()))?));
        }
        self.svc.flush(conn, &mut ws)?;
        for r in ordered.iter().filter(|r| r.verb == Verb::Get) {
            answers.push((
                r.index,
                self.get(conn, r).map_err(|e| name_entry(e, &r.label()))?,
            ));
        }
        Ok(answers)
    }

    /// One batch entry, in its own database transaction.
    pub fn one(&self, conn: &mut PgConnection, r: &Request) -> Result<Answer, FhirError> {
        conn.transaction(|conn| match r.verb {
            Verb::Delete => {
                let id = self.delete_target(conn, r)?;
                self.delete(conn, r, id)
            }
            Verb::Get => self.get(conn, r),
            Verb::Patch => {
                let id = self.patch_target(conn, r)?;
                self.patch(conn, r, &id, &Links::default())
            }
            Verb::Post | Verb::Put => {
                let a = self.assign(conn, r)?;
                if let Some(done) = a.done {
                    return Ok(done);
                }
                let map = self.prepare(conn, r, &a.id, a.fresh, &Links::default())?;
                let mut ws = WriteSet::default();
                let answer = self.write(conn, &mut ws, r, a.id, a.fresh, map)?;
                self.svc.flush(conn, &mut ws)?;
                Ok(answer)
            }
        })
    }
}
