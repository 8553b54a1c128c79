//! The second half of the decision point: where a principal reaches only part
//! of a type (access.rs, [`Allowance::Within`]), every access is confined to
//! that part before anything is decrypted or written.
//!
//! - A SMART `patient/` scope reaches the launch patient's compartment
//!   (scopes-and-launch-context.html; the R4 CompartmentDefinition for
//!   Patient, http://hl7.org/fhir/R4/compartmentdefinition-patient.html: the
//!   Patient itself and the resources whose compartment references name it).
//!   Practitioners are in no patient's compartment and carry no patient's
//!   data: a `patient/Practitioner.rs` scope reads them all, and writes none.
//! - A v2 query-constrained scope (`patient/Observation.rs?category=...`)
//!   reaches the resources matching its query; it is honoured for reads and
//!   searches, and grants no writes (a written body is not a search match
//!   until it is indexed).
//!
//! Searches carry the confinement into their SQL (search/confine.rs); reads
//! of known ids ask the same SQL which of them are within. An id outside is
//! refused (403) whether or not it exists, so the answer tells nothing about
//! other patients' records.

use diesel::PgConnection;
use serde_json::Value;

use super::access::{Action, Allowance, Limit, Refusal};
use super::Services;
use crate::fhir::error::FhirError;
use crate::fhir::search::{self, Alternatives, Confinement, Criterion};
use crate::model::{ResourceId, ResourceType};

const ACTIONS_CONFINED: [Action; 2] = [Action::Read, Action::Search];

impl Services {
    /// What the principal may see of each type for `action` (reads and
    /// searches), for the search SQL; None when nothing is confined.
    pub(crate) fn confinement(&self, action: Action) -> Option<Confinement> {
        if self.principal().permits_all() || !ACTIONS_CONFINED.contains(&action) {
            return None;
        }
        let mut out = Vec::new();
        for t in ResourceType::ALL {
            match self.principal().allowance(action, t) {
                Allowance::All => {}
                Allowance::Denied => out.push((t, Vec::new())),
                Allowance::Within(limits) => out.push((t, self.alternatives(t, &limits, false))),
            }
        }
        (!out.is_empty()).then_some(Confinement(out))
    }

    /// Those of `ids` (of `rtype`) within what the principal reaches for
    /// `action`; each one left out is noted as a refusal.
    pub(super) fn confine_ids(
        &self,
        conn: &mut PgConnection,
        action: Action,
        rtype: ResourceType,
        ids: Vec<ResourceId>,
    ) -> Result<Vec<ResourceId>, FhirError> {
        if ids.is_empty() || self.principal().permits_all() {
            return Ok(ids);
        }
        let alts = match self.principal().allowance(action, rtype) {
            Allowance::All => return Ok(ids),
            Allowance::Denied => Vec::new(),
            Allowance::Within(limits) => self.alternatives(
                rtype,
                &limits,
                action != Action::Read && action != Action::Search,
            ),
        };
        let within = if alts.is_empty() {
            Vec::new()
        } else {
            let joined = ids
                .iter()
                .map(ResourceId::as_str)
                .collect::<Vec<_>>()
                .join(",");
            let (by_id, _) =
                search::parse_criteria(&self.model.registry, rtype, &[("_id".to_owned(), joined)])?;
            let ix = self.keyring.indexer(conn, self.tenant.as_str())?;
            let confinement = Confinement(vec![(rtype, alts)]);
            let limit = i64::try_from(ids.len()).unwrap_or(i64::MAX);
            search::find_ids(
                conn,
                &ix,
                &self.tenant,
                rtype,
                &by_id,
                Some(&confinement),
                limit,
            )?
        };
        let mut kept = Vec::with_capacity(within.len());
        for id in ids {
            if within.contains(&id) {
                kept.push(id);
            } else {
                self.refusals().push(Refusal {
                    action,
                    rtype,
                    id: Some(id),
                });
            }
        }
        Ok(kept)
    }

    /// [`Self::confine_ids`] for one stored resource: 403 when outside.
    pub(super) fn confine_one(
        &self,
        conn: &mut PgConnection,
        action: Action,
        rtype: ResourceType,
        id: &ResourceId,
    ) -> Result<(), FhirError> {
        if self
            .confine_ids(conn, action, rtype, vec![id.clone()])?
            .is_empty()
        {
            return Err(FhirError::Forbidden(format!(
                "{action:?} of {rtype}/{id} is outside what the token grants"
            )));
        }
        Ok(())
    }

    /// Whether a body about to be written (`rtype/id`) stays within what the
    /// principal reaches for `action`: for a `patient/` scope, the body must
    /// be in the launch patient's compartment (a write may not create a
    /// resource for another patient, or move one out of the compartment).
    pub(super) fn admit_body(
        &self,
        action: Action,
        rtype: ResourceType,
        id: &ResourceId,
        body: &Value,
    ) -> Result<(), FhirError> {
        let limits = match self.principal().allowance(action, rtype) {
            Allowance::All => return Ok(()),
            Allowance::Denied => Vec::new(),
            Allowance::Within(limits) => limits,
        };
        let d = rtype.descriptor();
        let refs = d.patient_refs(Some(id.as_str()), body);
        let admitted = limits.iter().any(|l| match (&l.patient, &l.query) {
            (Some(p), None) => {
                let own = format!("Patient/{p}");
                refs.contains(&own)
            }
            _ => false,
        });
        if admitted {
            return Ok(());
        }
        self.refusals().push(Refusal {
            action,
            rtype,
            id: Some(id.clone()),
        });
        Err(FhirError::Forbidden(format!(
            "{action:?} of {rtype}/{id}: the resource would be outside the launch patient's compartment"
        )))
    }

    /// `limits` as search alternatives over `rtype` (search/confine.rs). A
    /// query that does not parse reaches nothing.
    fn alternatives(&self, rtype: ResourceType, limits: &[Limit], writing: bool) -> Alternatives {
        let reg = &self.model.registry;
        let parse = |pairs: &[(String, String)]| -> Option<Vec<Criterion>> {
            match search::parse_criteria(reg, rtype, pairs) {
                Ok((c, unknown)) if unknown.is_empty() => Some(c),
                _ => None,
            }
        };
        let mut alts = Vec::new();
        for l in limits {
            let query = match &l.query {
                None => Vec::new(),
                Some(q) => match serde_urlencoded::from_str::<Vec<(String, String)>>(q)
                    .ok()
                    .and_then(|pairs| parse(&pairs))
                {
                    Some(c) => c,
                    None => continue,
                },
            };
            let Some(patient) = &l.patient else {
                alts.push(query);
                continue;
            };
            let d = rtype.descriptor();
            let mut members: Vec<(String, String)> = Vec::new();
            if d.compartment.owner {
                members.push(("_id".into(), patient.to_string()));
            }
            for r in d.compartment.refs {
                members.push((r.param.into(), format!("Patient/{patient}")));
            }
            if members.is_empty() {
                if !writing {
                    alts.push(query);
                }
                continue;
            }
            for m in members {
                if let Some(mut c) = parse(&[m]) {
                    c.extend(query.iter().cloned());
                    alts.push(c);
                }
            }
        }
        alts
    }
}
