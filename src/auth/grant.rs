//! What one verified token grants: its scopes, the launch patient, and who
//! acts (the user and the client), as the engine's decision point reads them.
//!
//! SMART App Launch 2.0.0, scopes-and-launch-context.html: a `patient/` scope
//! reaches the resources of the patient in context (the R4 Patient
//! compartment); `user/` what the user may see; `system/` what the client
//! itself may. A v2 scope's query (`?category=...`) narrows what it reaches.

use super::scopes::{Context, Perms, Scopes};
use crate::model::{ResourceId, ResourceType};

/// The letter of SMART v2 permissions an action needs
/// (scopes-and-launch-context.html#scopes-for-requesting-fhir-resources).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needed {
    Create,
    Read,
    Update,
    Delete,
    Search,
}

impl Needed {
    pub fn perms(self) -> Perms {
        match self {
            Needed::Create => Perms::C,
            Needed::Read => Perms::R,
            Needed::Update => Perms::U,
            Needed::Delete => Perms::D,
            Needed::Search => Perms::S,
        }
    }
}

/// One way a scope reaches resources: within the compartment of `patient`
/// (a `patient/` scope), and/or matching `query` (a v2 query-constrained scope).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    pub patient: Option<ResourceId>,
    pub query: Option<String>,
}

/// What a grant allows for one action on one type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allowance {
    Denied,
    /// Every resource of the type.
    All,
    /// Only those within one of the limits.
    Within(Vec<Limit>),
}

/// Who acts, for the AuditEvent's agents (IHE BALP: the user and the client app).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actor {
    /// The user's `fhirUser` (`Practitioner/1`, a URL) or, without one, `user:<name>`.
    pub user: Option<String>,
    pub client_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Grant {
    pub scopes: Scopes,
    /// The launch context's patient (`patient` in the token response).
    pub patient: Option<ResourceId>,
    pub actor: Actor,
}

impl Grant {
    /// What this grant allows for `needed` on `rtype`: the union over its
    /// resource scopes that carry the letter for the type. A `patient/` scope
    /// without a patient in context reaches nothing.
    pub fn allowance(&self, needed: Needed, rtype: ResourceType) -> Allowance {
        let mut limits: Vec<Limit> = Vec::new();
        for s in self.scopes.resource_scopes() {
            if !s.perms_for(rtype).contains(needed.perms()) {
                continue;
            }
            let patient = match s.context {
                Context::Patient => match &self.patient {
                    Some(p) => Some(p.clone()),
                    None => continue,
                },
                Context::User | Context::System => None,
            };
            if patient.is_none() && s.query.is_none() {
                return Allowance::All;
            }
            let limit = Limit {
                patient,
                query: s.query.clone(),
            };
            if !limits.contains(&limit) {
                limits.push(limit);
            }
        }
        if limits.is_empty() {
            Allowance::Denied
        } else {
            Allowance::Within(limits)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn grant(scope: &str, patient: Option<&str>) -> Grant {
        Grant {
            scopes: Scopes::parse(scope),
            patient: patient.and_then(ResourceId::parse),
            actor: Actor::default(),
        }
    }

    #[test]
    fn patient_scopes_reach_the_launch_patient_only() {
        let g = grant("patient/*.rs", Some("p1"));
        let within = Allowance::Within(vec![Limit {
            patient: ResourceId::parse("p1"),
            query: None,
        }]);
        assert_eq!(g.allowance(Needed::Read, ResourceType::Observation), within);
        assert_eq!(g.allowance(Needed::Search, ResourceType::Patient), within);
        assert_eq!(
            g.allowance(Needed::Create, ResourceType::Observation),
            Allowance::Denied
        );
        // Without a patient in context a patient/ scope reaches nothing.
        let none = grant("patient/*.rs", None);
        assert_eq!(
            none.allowance(Needed::Read, ResourceType::Patient),
            Allowance::Denied
        );
    }

    #[test]
    fn user_and_system_scopes_reach_every_resource_of_their_types() {
        let g = grant("user/Observation.rs system/Patient.c", None);
        assert_eq!(
            g.allowance(Needed::Read, ResourceType::Observation),
            Allowance::All
        );
        assert_eq!(
            g.allowance(Needed::Create, ResourceType::Patient),
            Allowance::All
        );
        assert_eq!(
            g.allowance(Needed::Read, ResourceType::Patient),
            Allowance::Denied
        );
        let q = grant("user/Observation.rs?category=laboratory", None);
        assert_eq!(
            q.allowance(Needed::Search, ResourceType::Observation),
            Allowance::Within(vec![Limit {
                patient: None,
                query: Some("category=laboratory".into())
            }])
        );
    }
}
