//! Search-index rows for the current version of a resource, written in the same
//! transaction as the version itself. What is indexed comes from the R4
//! SearchParameter definitions (fhirgate-search); whether a value is stored in the
//! clear or only as a blind index comes from [`phi::is_phi`].

pub mod backfill;
pub mod keys;
pub mod phi;
mod rows;

use diesel::pg::PgConnection;

use super::StoreError;
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
    super::stmt::Stmt::new(format!("WITH {ctes} DELETE FROM {last} {cond}"))
        .bind::<Text, _>(tenant.as_str())
        .bind::<Text, _>(resource_type)
        .bind::<Text, _>(id.as_str())
        .execute(conn)?;
    Ok(())
}
