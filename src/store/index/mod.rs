//! Search-index rows for the current version of a resource, written in the same
//! transaction as the version itself. What is indexed comes from the R4
//! SearchParameter definitions (fhirgate-search); whether a value is stored in the
//! clear or only as a blind index comes from [`phi::is_phi`].

mod insert;
pub mod keys;
pub mod phi;
mod rows;

use diesel::pg::PgConnection;
use fhirgate_search::IndexEntry;

use super::StoreError;
use crate::crypto::BlindIndexer;
use crate::model::ResourceId;
use crate::tenant::TenantId;

pub use rows::IndexRows;

const TABLES: [&str; 9] = [
    "idx_keys",
    "idx_string",
    "idx_token",
    "idx_date",
    "idx_reference",
    "idx_quantity",
    "idx_number",
    "idx_uri",
    "idx_composite",
];

/// Replaces the index rows of one resource. `fresh` skips the deletes for a
/// resource that cannot have rows yet (a server-assigned id on create).
#[tracing::instrument(skip_all, fields(rtype = resource_type, id = %id))]
pub fn replace(
    conn: &mut PgConnection,
    indexer: &BlindIndexer,
    tenant: &TenantId,
    resource_type: &str,
    id: &ResourceId,
    entries: &[IndexEntry],
    fresh: bool,
) -> Result<(), StoreError> {
    if !fresh {
        delete(conn, tenant, resource_type, id)?;
    }
    let mut rows = IndexRows::default();
    rows.add_resource(indexer, resource_type, id.as_str(), entries);
    rows.insert(conn, tenant, resource_type)
}

/// Removes every index row of a resource (delete interaction).
pub fn delete(
    conn: &mut PgConnection,
    tenant: &TenantId,
    resource_type: &str,
    id: &ResourceId,
) -> Result<(), StoreError> {
    use diesel::sql_types::Text;
    use diesel::RunQueryDsl;
    // Data-modifying CTEs delete from every index table in one round trip.
    let cond = "WHERE tenant_id = $1 AND resource_type = $2 AND resource_id = $3";
    let (last, rest) = TABLES
        .split_last()
        .ok_or_else(|| StoreError::Corrupt("no index tables".into()))?;
    let ctes = rest
        .iter()
        .enumerate()
        .map(|(i, t)| format!("d{i} AS (DELETE FROM {t} {cond})"))
        .collect::<Vec<_>>()
        .join(", ");
    diesel::sql_query(format!("WITH {ctes} DELETE FROM {last} {cond}"))
        .bind::<Text, _>(tenant.as_str())
        .bind::<Text, _>(resource_type)
        .bind::<Text, _>(id.as_str())
        .execute(conn)?;
    Ok(())
}
