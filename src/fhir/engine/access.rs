//! The one decision point: every resource the engine reads, returns, searches
//! or writes is put to [`Principal::permits`] first, through
//! [`super::Services`] (`decide`, `release`), and every refusal is recorded for
//! its own AuditEvent (IHE BALP: a failed access is audited like a granted one,
//! https://profiles.ihe.net/ITI/BALP/content.html#3573-authorization-failure).
//!
//! A request's principal comes from its verified bearer token (issue #17,
//! `Principal::from_grant`): its SMART scopes decide by action and type here,
//! and where a scope reaches only part of a type (a `patient/` scope: the
//! launch patient's compartment; a v2 query-constrained scope: the resources
//! matching its query) [`Principal::allowance`] says so and `Services`
//! confines the access (engine/confine.rs). A principal refused everything is
//! what the tests use to prove that no path reaches data around this point.

use std::sync::{Arc, Mutex};

pub use crate::auth::grant::{Actor, Allowance, Limit};
use crate::auth::grant::{Grant, Needed};
use crate::model::{ResourceId, ResourceType};

/// What is being done to a resource (or to a type, for a search).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Reading one resource's content: a read, vread, history entry, search
    /// match, `_include`d resource, `$everything` member, Bundle GET entry, or
    /// the match of a conditional create returned to the client.
    Read,
    /// Running a search over a type: a search, a chain or `_has` sub-query,
    /// a conditional lookup (If-None-Exist, conditional update or delete, a
    /// conditional reference), or the compartment query of `$everything`.
    Search,
    Create,
    Update,
    Delete,
}

impl Action {
    fn needed(self) -> Needed {
        match self {
            Action::Read => Needed::Read,
            Action::Search => Needed::Search,
            Action::Create => Needed::Create,
            Action::Update => Needed::Update,
            Action::Delete => Needed::Delete,
        }
    }
}

/// One access put to the decision point.
#[derive(Debug, Clone, Copy)]
pub struct Access<'a> {
    pub action: Action,
    pub rtype: ResourceType,
    pub id: Option<&'a ResourceId>,
}

type Rule = Arc<dyn Fn(&Access<'_>) -> bool + Send + Sync>;

#[derive(Clone)]
enum Grants {
    All,
    Nothing,
    Rule(Rule),
    /// What a verified SMART token grants; true when that is everything
    /// (`system/*.cruds`), so the read paths skip their bookkeeping.
    Smart(Arc<Grant>, bool),
}

/// Who acts: the subject of an interaction's AuditEvent and what it may do.
#[derive(Clone)]
pub struct Principal {
    name: &'static str,
    grants: Grants,
}

impl std::fmt::Debug for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Principal")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Principal {
    /// Whoever reached the port: every request until authorization exists.
    pub fn anonymous_local() -> Self {
        Self {
            name: "anonymous",
            grants: Grants::All,
        }
    }

    /// A principal that may do nothing (tests of the decision point).
    pub fn refused_everything() -> Self {
        Self {
            name: "refused-everything",
            grants: Grants::Nothing,
        }
    }

    /// The holder of a verified token (auth::token).
    pub fn from_grant(grant: Grant) -> Self {
        const ACTIONS: [Action; 5] = [
            Action::Read,
            Action::Search,
            Action::Create,
            Action::Update,
            Action::Delete,
        ];
        let everything = ResourceType::ALL.iter().all(|t| {
            ACTIONS
                .iter()
                .all(|a| grant.allowance(a.needed(), *t) == Allowance::All)
        });
        Self {
            name: "smart",
            grants: Grants::Smart(Arc::new(grant), everything),
        }
    }

    /// Who acts, for the AuditEvent's agents (none for the built-in principals).
    pub fn actor(&self) -> Option<&Actor> {
        match &self.grants {
            Grants::Smart(g, _) => Some(&g.actor),
            _ => None,
        }
    }

    /// How much of `rtype` the principal reaches for `action`: all of it,
    /// none, or only within limits the engine must apply (engine/confine.rs).
    pub fn allowance(&self, action: Action, rtype: ResourceType) -> Allowance {
        match &self.grants {
            Grants::All => Allowance::All,
            Grants::Nothing => Allowance::Denied,
            Grants::Rule(rule) => {
                if rule(&Access {
                    action,
                    rtype,
                    id: None,
                }) {
                    Allowance::All
                } else {
                    Allowance::Denied
                }
            }
            Grants::Smart(g, _) => g.allowance(action.needed(), rtype),
        }
    }

    /// A principal whose every access is decided by `rule`.
    pub fn with_rule(
        name: &'static str,
        rule: impl Fn(&Access<'_>) -> bool + Send + Sync + 'static,
    ) -> Self {
        Self {
            name,
            grants: Grants::Rule(Arc::new(rule)),
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Whether this principal may make `access`.
    pub fn permits(&self, access: &Access<'_>) -> bool {
        match &self.grants {
            Grants::All => true,
            Grants::Nothing => false,
            Grants::Rule(rule) => rule(access),
            Grants::Smart(g, _) => {
                g.allowance(access.action.needed(), access.rtype) != Allowance::Denied
            }
        }
    }

    /// True when nothing can be refused: the read paths then skip the
    /// per-resource bookkeeping.
    pub fn permits_all(&self) -> bool {
        matches!(self.grants, Grants::All | Grants::Smart(_, true))
    }
}

/// One refused access, to be audited.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub action: Action,
    pub rtype: ResourceType,
    pub id: Option<ResourceId>,
}

/// Refusals of one interaction, shared by the clones of its `Services`.
#[derive(Debug, Clone, Default)]
pub struct Refusals(Arc<Mutex<Vec<Refusal>>>);

impl Refusals {
    pub fn push(&self, r: Refusal) {
        if let Ok(mut v) = self.0.lock() {
            v.push(r);
        }
    }

    pub fn take(&self) -> Vec<Refusal> {
        self.0
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants() {
        let id = ResourceId::generate();
        let a = Access {
            action: Action::Read,
            rtype: ResourceType::Patient,
            id: Some(&id),
        };
        assert!(Principal::anonymous_local().permits(&a));
        assert!(!Principal::refused_everything().permits(&a));
        let searcher = Principal::with_rule("searcher", |a| a.action == Action::Search);
        assert!(!searcher.permits(&a));
        assert!(searcher.permits(&Access {
            action: Action::Search,
            ..a
        }));
    }
}
