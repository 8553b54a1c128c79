//! `_total` (http://hl7.org/fhir/R4/search.html#total) of a search's WHERE clause.

use diesel::pg::PgConnection;
use diesel::sql_types::{BigInt, Text};
use diesel::{QueryableByName, RunQueryDsl};

use super::sql::Query;
use crate::fhir::error::FhirError;

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct PlanRow {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    plan: String,
}

impl Query<'_> {
    /// `_total=accurate` (search.html#total).
    pub fn count(&self, conn: &mut PgConnection) -> Result<i64, FhirError> {
        let (from, wh) = self.sql_parts();
        let sql = format!("SELECT count(*) AS n FROM {from} WHERE {wh}");
        Ok(self.statement(sql, false).get_result::<CountRow>(conn)?.n)
    }

    /// `_total=estimate`: the planner's row estimate, None when it cannot be read.
    pub fn estimate(&self, conn: &mut PgConnection) -> Option<i64> {
        let (from, wh) = self.sql_parts();
        let sql = format!("EXPLAIN (FORMAT JSON) SELECT 1 FROM {from} WHERE {wh}");
        let row: PlanRow = self.statement(sql, false).get_result(conn).ok()?;
        let plan: serde_json::Value = serde_json::from_str(&row.plan).ok()?;
        plan.pointer("/0/Plan/Plan Rows")?
            .as_f64()
            .map(|n| n.round() as i64)
    }
}
