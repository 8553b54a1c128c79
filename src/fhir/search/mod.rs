//! FHIR search (http://hl7.org/fhir/R4/search.html) over the index tables.
//!
//! This is the first slice (issue #2): the criteria that conditional create,
//! update and delete need, and plain type-level search. Each parameter becomes
//! one `id IN (SELECT resource_id FROM idx_* ...)` term; repeated parameters AND,
//! comma-separated values OR. Every value is a bind parameter; parameter names
//! come from the SearchParameter registry, never from SQL text.

mod audit;
pub mod bundle;
mod criteria;
mod dates;
mod sql;

use diesel::pg::PgConnection;
use fhirgate_search::Registry;
use fhirgate_validate::IssueCode;

pub use audit::AUDIT_PARAMS;
pub use criteria::{parse_criteria, Criterion};

use super::error::FhirError;
use crate::crypto::BlindIndexer;
use crate::model::{ResourceId, ResourceType};
use crate::tenant::TenantId;

/// Parameters that control the result rather than select resources
/// (search.html#2.21.1.1 and http.html#parameters).
pub const RESULT_PARAMS: [&str; 12] = [
    "_format",
    "_pretty",
    "_count",
    "_sort",
    "_total",
    "_summary",
    "_elements",
    "_include",
    "_revinclude",
    "_contained",
    "_containedType",
    "_page",
];

/// Ids of current, non-deleted resources of `rtype` matching every criterion,
/// ordered by id after `after`, at most `limit`.
pub fn find_ids(
    conn: &mut PgConnection,
    indexer: &BlindIndexer,
    tenant: &TenantId,
    rtype: ResourceType,
    criteria: &[Criterion],
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<ResourceId>, FhirError> {
    let mut q = sql::Query::new(tenant, rtype);
    for c in criteria {
        q.add(indexer, rtype, c)?;
    }
    q.ids(conn, after, limit)
}

pub fn count(
    conn: &mut PgConnection,
    indexer: &BlindIndexer,
    tenant: &TenantId,
    rtype: ResourceType,
    criteria: &[Criterion],
) -> Result<i64, FhirError> {
    let mut q = sql::Query::new(tenant, rtype);
    for c in criteria {
        q.add(indexer, rtype, c)?;
    }
    q.count(conn)
}

/// Criteria for a conditional interaction: every parameter must be understood, since
/// ignoring one would widen the match and touch the wrong resource
/// (http://hl7.org/fhir/R4/http.html#cond-update).
pub fn conditional_criteria(
    registry: &Registry,
    rtype: ResourceType,
    query: &[(String, String)],
) -> Result<Vec<Criterion>, FhirError> {
    let (criteria, unknown) = parse_criteria(registry, rtype, query)?;
    if let Some(name) = unknown.first() {
        return Err(FhirError::invalid(
            IssueCode::NotSupported,
            None,
            format!("search parameter {name:?} is not supported for {rtype}"),
        ));
    }
    if criteria.is_empty() {
        return Err(FhirError::PreconditionFailed(
            "a conditional interaction needs at least one search criterion".into(),
        ));
    }
    Ok(criteria)
}
