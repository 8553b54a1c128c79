//! FHIR search (http://hl7.org/fhir/R4/search.html) over the index tables.
//!
//! Parsing (`criteria`, `options`) turns the query into typed criteria and
//! result options; `sql`/`leaf` turn criteria into one WHERE clause of
//! `id IN (SELECT resource_id FROM idx_* ...)` terms (repeated parameters AND,
//! comma-separated values OR, chains and `_has` nest over the reference index);
//! `page` sorts and keyset-pages; `include` adds `_include`/`_revinclude`;
//! `bundle` builds the searchset. Every value is a bind parameter; parameter
//! names come from the SearchParameter registry, never from SQL text.

mod audit;
pub mod bundle;
mod criteria;
mod dates;
mod include;
mod keys;
mod leaf;
mod options;
mod page;
mod sql;
mod values;

use diesel::pg::PgConnection;
use fhirgate_search::Registry;
use fhirgate_validate::IssueCode;

pub use audit::AUDIT_PARAMS;
pub use criteria::{parse_criteria, searchable, Criterion};

use super::error::FhirError;
use crate::crypto::BlindIndexer;
use crate::model::{ResourceId, ResourceType};
use crate::tenant::TenantId;

/// Parameters that control the result rather than select resources
/// (search.html#2.21.1.1 and http.html#parameters). `_contained` and
/// `_containedType` are not here: they are not supported, so they are reported
/// like any unknown parameter.
pub const RESULT_PARAMS: [&str; 10] = [
    "_format",
    "_pretty",
    "_count",
    "_sort",
    "_total",
    "_summary",
    "_elements",
    "_include",
    "_revinclude",
    "_page",
];

/// Ids of current, non-deleted resources of `rtype` matching every criterion,
/// in id order, at most `limit`.
pub fn find_ids(
    conn: &mut PgConnection,
    indexer: &BlindIndexer,
    tenant: &TenantId,
    rtype: ResourceType,
    criteria: &[Criterion],
    limit: i64,
) -> Result<Vec<ResourceId>, FhirError> {
    let mut q = sql::Query::new(indexer, tenant, rtype);
    for c in criteria {
        q.add(c)?;
    }
    page::few_ids(conn, q, limit)
}

/// Serialises conditional interactions with the same criteria (across processes:
/// it is a database lock, held to the end of the transaction), so 20 identical
/// conditional creates, or two transactions with the same ifNoneExist, make one
/// resource.
pub fn lock_criteria(conn: &mut PgConnection, key: &str) -> Result<(), FhirError> {
    use diesel::RunQueryDsl;
    crate::store::stmt::Stmt::new("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind::<diesel::sql_types::Text, _>(key)
        .execute(conn)?;
    Ok(())
}

/// The lock key of a conditional interaction: tenant, type and sorted criteria.
pub fn criteria_key(tenant: &TenantId, rtype: ResourceType, query: &[(String, String)]) -> String {
    let mut q: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    q.sort();
    format!("{tenant}|{rtype}|{}", q.join("&"))
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
