//! The lookups of conditional interactions (http://hl7.org/fhir/R4/http.html#ccreate,
//! #cond-update, #3.1.0.7.1, and conditional references in transactions,
//! http.html#trules): the criteria, their advisory lock, and the search for at
//! most two matches (one is all a conditional needs to know).
//!
//! A transaction Bundle made from an HL7 v2 message names one conditional per
//! resource. [`lock_many`] and [`find_many`] serve all of a Bundle's criteria in
//! two statements instead of two per criterion.

use diesel::pg::PgConnection;
use diesel::sql_types::{Array, Integer, Text};
use diesel::{QueryableByName, RunQueryDsl};
use fhirgate_search::Registry;
use fhirgate_validate::IssueCode;

use super::criteria::{parse_criteria, Criterion};
use super::page;
use super::sql::{self, Query};
use crate::crypto::BlindIndexer;
use crate::fhir::error::FhirError;
use crate::model::{ResourceId, ResourceType};
use crate::store::stmt::Stmt;
use crate::tenant::TenantId;

/// At most this many conditionals go to PostgreSQL as one statement; a larger
/// Bundle is served in chunks, so no statement text grows without bound.
const CHUNK: usize = 32;

/// Up to this many lookups in one statement keep it prepared: the Bundles of
/// one HL7 v2 message type repeat the same shapes, so their text repeats too.
const PREPARED_UP_TO: usize = 8;

/// Ids of current, non-deleted resources of `rtype` matching every criterion,
/// in id order, at most `limit`.
pub fn find_ids(
    conn: &mut PgConnection,
    indexer: &BlindIndexer,
    tenant: &TenantId,
    rtype: ResourceType,
    criteria: &[Criterion],
    confinement: Option<&super::Confinement>,
    limit: i64,
) -> Result<Vec<ResourceId>, FhirError> {
    let mut q = Query::new(indexer, tenant, rtype);
    q.by_keys_only();
    // First: the criteria's chains and `_has` are confined as they are added.
    if let Some(c) = confinement {
        q.confine(c)?;
    }
    for c in criteria {
        q.add(c)?;
    }
    page::few_ids(conn, q, limit)
}

#[derive(QueryableByName)]
struct TaggedId {
    #[diesel(sql_type = Integer)]
    k: i32,
    #[diesel(sql_type = Text)]
    id: String,
}

/// [`find_ids`] with a limit of 2 for each of `lookups`, answered in the order
/// of `lookups`, in one statement per [`CHUNK`].
pub fn find_many(
    conn: &mut PgConnection,
    indexer: &BlindIndexer,
    tenant: &TenantId,
    lookups: &[(ResourceType, Vec<Criterion>)],
    confinement: Option<&super::Confinement>,
) -> Result<Vec<Vec<ResourceId>>, FhirError> {
    let mut found = Vec::with_capacity(lookups.len());
    for chunk in lookups.chunks(CHUNK) {
        let mut binds = Vec::new();
        let mut branches = Vec::with_capacity(chunk.len());
        for (k, (rtype, criteria)) in chunk.iter().enumerate() {
            // Each search's placeholders continue after the previous one's; all
            // share the tenant at $1.
            let mut q = Query::continuing(indexer, tenant, *rtype, binds);
            q.by_keys_only();
            if let Some(c) = confinement {
                q.confine(c)?;
            }
            for c in criteria {
                q.add(c)?;
            }
            branches.push(format!("({})", page::few_ids_sql(&q, k, 2)));
            binds = q.into_binds();
        }
        let text = branches.join(" UNION ALL ");
        let rows: Vec<TaggedId> =
            sql::statement_of(&binds, text, chunk.len() <= PREPARED_UP_TO).load(conn)?;
        let mut ids = vec![Vec::new(); chunk.len()];
        for r in rows {
            let slot = usize::try_from(r.k).ok().and_then(|k| ids.get_mut(k));
            if let (Some(slot), Some(id)) = (slot, ResourceId::parse(&r.id)) {
                slot.push(id);
            }
        }
        found.extend(ids);
    }
    Ok(found)
}

/// Serialises conditional interactions with the same criteria (across processes:
/// it is a database lock, held to the end of the transaction), so 20 identical
/// conditional creates, or two transactions with the same ifNoneExist, make one
/// resource.
pub fn lock_criteria(conn: &mut PgConnection, key: &str) -> Result<(), FhirError> {
    Stmt::new("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind::<Text, _>(key)
        .execute(conn)?;
    Ok(())
}

/// [`lock_criteria`] for several keys in one statement. The locks are taken in
/// the order of their lock ids, so two transactions that share criteria queue
/// behind each other instead of deadlocking.
pub fn lock_many(conn: &mut PgConnection, keys: &[String]) -> Result<(), FhirError> {
    Stmt::new(
        "SELECT pg_advisory_xact_lock(h) FROM \
         (SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest($1::text[]) AS t(k) ORDER BY 1) s",
    )
    .bind::<Array<Text>, _>(keys)
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
