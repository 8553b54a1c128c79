//! The one decision point: every resource the engine reads, returns, searches
//! or writes is put to [`Principal::permits`] first, through
//! [`super::Services`] (`decide`, `release`), and every refusal is recorded for
//! its own AuditEvent (IHE BALP: a failed access is audited like a granted one,
//! https://profiles.ihe.net/ITI/BALP/content.html#3573-authorization-failure).
//!
//! Today every request acts as the anonymous local principal, which may do
//! everything (no authentication exists yet); the SMART on FHIR issue gives
//! principals their scopes. A principal refused everything is what the tests
//! use to prove that no path reaches data around this point.

use std::sync::{Arc, Mutex};

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
        }
    }

    /// True when nothing can be refused: the read paths then skip the
    /// per-resource bookkeeping.
    pub fn permits_all(&self) -> bool {
        matches!(self.grants, Grants::All)
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
