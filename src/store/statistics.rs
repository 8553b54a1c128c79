//! Planner statistics where autovacuum does not keep them.
//!
//! Every search and conditional interaction relies on the planner choosing the
//! right index (the GIN `idx_keys`, the blind-index btrees), and it chooses by
//! table statistics. With autovacuum off (as on the PostgreSQL these machines
//! run) a table the gateway filled is never analysed: measured on the HL7
//! benchmark, the conditional lookup of an Observation by identifier took
//! 13-16 ms by the primary key instead of 0.1 ms by `idx_keys_gin`. When the
//! server's `autovacuum` is off, this task runs `ANALYZE` on the gateway's
//! tables whose changes since their last analyse pass autovacuum's own default
//! rule (50 rows + 10%; https://www.postgresql.org/docs/15/routine-vacuuming.html#AUTOVACUUM),
//! so plans stay sane. Past 10,000 rows a table is analysed at most once a
//! minute (autovacuum's own naptime): its statistics no longer change the plans
//! of these lookups, while a growing table kept passing the 10% rule every few
//! seconds and ANALYZE was 11% of PostgreSQL's time under HL7 load
//! (docs/performance.md). Dead tuples are not vacuumed: that stays the
//! operator's job, and a warning at start-up says so.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

use super::{Db, StoreError};

#[derive(QueryableByName)]
struct Stale {
    #[diesel(sql_type = Text)]
    relname: String,
}

#[derive(QueryableByName)]
struct On {
    #[diesel(sql_type = Bool)]
    on: bool,
}

fn autovacuum_on(conn: &mut PgConnection) -> Result<bool, StoreError> {
    let r: On =
        diesel::sql_query("SELECT current_setting('autovacuum') = 'on' AS on").get_result(conn)?;
    Ok(r.on)
}

/// Analyses the tables of the current schema whose statistics are stale; returns how many.
pub fn analyze_stale(conn: &mut PgConnection) -> Result<usize, StoreError> {
    let stale: Vec<Stale> = diesel::sql_query(
        "SELECT relname::text AS relname FROM pg_stat_user_tables \
         WHERE schemaname = current_schema() \
           AND n_mod_since_analyze > 50 + 0.1 * greatest(n_live_tup, 0) \
           AND (n_live_tup < 10000 OR last_analyze IS NULL \
                OR last_analyze < now() - interval '60 seconds')",
    )
    .load(conn)?;
    for t in &stale {
        // Names come from the catalogue (our own migrations), quoted all the same.
        diesel::sql_query(format!("ANALYZE \"{}\"", t.relname.replace('"', "\"\"")))
            .execute(conn)?;
    }
    Ok(stale.len())
}

/// Starts the task when the server's autovacuum is off; it stops when `stop` is
/// set or the database goes away.
pub async fn start(db: Db, stop: Arc<AtomicBool>) {
    let on = db.run(autovacuum_on).await;
    match on {
        Ok(true) => return,
        Ok(false) => tracing::warn!(
            "the PostgreSQL server runs with autovacuum off: fhirgate will keep the planner \
             statistics of its tables itself (ANALYZE), but dead rows are not vacuumed; \
             enable autovacuum or schedule VACUUM"
        ),
        Err(e) => {
            tracing::warn!(error = %e, "could not read the autovacuum setting");
            return;
        }
    }
    tokio::spawn(async move {
        let mut failures = 0;
        while !stop.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_secs(2)).await;
            if stop.load(Ordering::Relaxed) {
                break;
            }
            match db.run(analyze_stale).await {
                Ok(n) => {
                    failures = 0;
                    if n > 0 {
                        tracing::debug!(tables = n, "analysed tables with stale statistics");
                    }
                }
                Err(e) => {
                    failures += 1;
                    tracing::debug!(error = %e, "statistics pass failed");
                    if failures >= 3 {
                        break;
                    }
                }
            }
        }
    });
}
