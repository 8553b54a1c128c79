//! Confining a search to what the principal may see (issue #17): the engine's
//! decision point says, per type, which resources a principal reaches (the
//! launch patient's compartment for a SMART `patient/` scope, the matches of
//! a v2 query-constrained scope: scopes-and-launch-context.html), and this
//! turns that into SQL. The searched type is confined in its WHERE clause,
//! and so is every type a chain or `_has` searches (search.html#chaining,
//! #has): otherwise `Practitioner?_has:Observation:performer:code=...` would
//! tell a patient-scoped app about other patients' Observations.

use fhirgate_validate::IssueCode;

use super::audit::is_projected;
use super::criteria::Criterion;
use super::sql::Query;
use crate::fhir::error::FhirError;
use crate::model::ResourceType;

/// Where a principal may look in one type: the resources matching any of the
/// alternatives, each an AND of criteria. No alternative matches nothing.
pub type Alternatives = Vec<Vec<Criterion>>;

/// The confinement of every type a search may reach; a type not listed is
/// not confined.
#[derive(Clone, Default)]
pub struct Confinement(pub Vec<(ResourceType, Alternatives)>);

impl Confinement {
    pub fn of(&self, rtype: ResourceType) -> Option<&Alternatives> {
        self.0.iter().find(|(t, _)| *t == rtype).map(|(_, a)| a)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Query<'_> {
    /// ANDs the confinement of the searched type into the search, and keeps
    /// it for the types chains and `_has` reach: call it before the criteria
    /// are added.
    pub fn confine(&mut self, c: &Confinement) -> Result<(), FhirError> {
        self.confinement = c.clone();
        if let Some(alts) = c.of(self.rtype).cloned() {
            let cond = self.alternatives_at("r.id", self.rtype, &alts)?;
            self.push_cond(&cond);
        }
        Ok(())
    }

    /// The confinement of `rtype` as a condition on `col`, if it is confined.
    pub(super) fn confined_at(
        &mut self,
        col: &str,
        rtype: ResourceType,
    ) -> Result<Option<String>, FhirError> {
        match self.confinement.of(rtype).cloned() {
            Some(alts) => Ok(Some(self.alternatives_at(col, rtype, &alts)?)),
            None => Ok(None),
        }
    }

    fn alternatives_at(
        &mut self,
        col: &str,
        rtype: ResourceType,
        alts: &Alternatives,
    ) -> Result<String, FhirError> {
        if alts.is_empty() {
            return Ok("FALSE".into());
        }
        let mut ors = Vec::with_capacity(alts.len());
        for alt in alts {
            let mut ands = Vec::with_capacity(alt.len());
            for c in alt {
                ands.push(if is_projected(rtype) {
                    if col != "r.id" {
                        // Projected types have no index rows: nothing chains
                        // into them (search/audit.rs).
                        return Err(FhirError::invalid(
                            IssueCode::NotSupported,
                            None,
                            "AuditEvents cannot be reached by a chain",
                        ));
                    }
                    self.projected(c)?
                } else {
                    self.matches(col, None, rtype, c)?
                });
            }
            ors.push(if ands.is_empty() {
                "TRUE".to_owned()
            } else {
                ands.join(" AND ")
            });
        }
        Ok(format!("(({}))", ors.join(") OR (")))
    }
}
