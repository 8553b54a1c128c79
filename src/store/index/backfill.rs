//! Migration 000010 -> 000011 (issue #15): readable free text in the index
//! (`idx_token.text_norm`, `idx_quantity.unit`) turned into the blind indexes
//! new rows carry (`text_bis`, `unit_bi`). SQL cannot do it, since only the
//! gateway holds the index keys; `bootstrap::run_migrations_with` calls this
//! before migration 000011 drops the readable columns. Idempotent: each batch
//! clears the plaintext of the rows it converts, and a run cut short resumes
//! where it stopped.

use diesel::pg::PgConnection;
use diesel::sql_types::{Array, Bytea, Nullable, Text};
use diesel::{sql_query, QueryableByName, RunQueryDsl};

use super::phi::{column, text_digests};
use crate::crypto::Keyring;
use crate::store::StoreError;

const BATCH: i64 = 5_000;

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    c: String,
    #[diesel(sql_type = Text)]
    resource_type: String,
    #[diesel(sql_type = Text)]
    param: String,
    #[diesel(sql_type = Text)]
    v: String,
}

#[derive(QueryableByName)]
struct Tenant {
    #[diesel(sql_type = Text)]
    tenant_id: String,
}

/// Whether any readable free text is left to convert.
pub fn pending(conn: &mut PgConnection) -> Result<bool, StoreError> {
    Ok(!tenants(conn)?.is_empty())
}

fn tenants(conn: &mut PgConnection) -> Result<Vec<String>, StoreError> {
    Ok(sql_query(
        "SELECT DISTINCT tenant_id FROM idx_token WHERE text_norm IS NOT NULL \
         UNION SELECT DISTINCT tenant_id FROM idx_quantity WHERE unit IS NOT NULL",
    )
    .load::<Tenant>(conn)?
    .into_iter()
    .map(|t| t.tenant_id)
    .collect())
}

/// Converts every row of every tenant; returns how many.
pub fn free_text(conn: &mut PgConnection, keyring: &Keyring) -> Result<usize, StoreError> {
    let mut done = 0;
    for tenant in tenants(conn)? {
        let ix = keyring.indexer(conn, &tenant)?;
        // (table, readable column, blind column, what the blind value is)
        let jobs: [(&str, &str, &str, bool); 2] = [
            ("idx_token", "text_norm", "text_bis", true),
            ("idx_quantity", "unit", "unit_bi", false),
        ];
        for (table, plain, blind, is_text) in jobs {
            loop {
                let rows = sql_query(format!(
                    "SELECT ctid::text AS c, resource_type, param, {plain} AS v FROM {table} \
                     WHERE tenant_id = $1 AND {plain} IS NOT NULL LIMIT {BATCH}"
                ))
                .bind::<Text, _>(&tenant)
                .load::<Row>(conn)?;
                if rows.is_empty() {
                    break;
                }
                let (ids, values): (Vec<String>, Vec<Option<Vec<u8>>>) = rows
                    .iter()
                    .map(|r| {
                        let d = if is_text {
                            // text_norm holds the folded text; folding it again
                            // changes nothing, so the digests equal a new write's.
                            text_digests(&ix, &r.resource_type, &r.param, &r.v)
                        } else {
                            ix.index(&column(&r.resource_type, &r.param, "unit"), &r.v)
                                .0
                        };
                        (r.c.clone(), Some(d).filter(|d| !d.is_empty()))
                    })
                    .unzip();
                sql_query(format!(
                    "UPDATE {table} t SET {blind} = x.b, {plain} = NULL \
                     FROM unnest($1::text[], $2::bytea[]) AS x(c, b) WHERE t.ctid = x.c::tid"
                ))
                .bind::<Array<Text>, _>(&ids)
                .bind::<Array<Nullable<Bytea>>, _>(&values)
                .execute(conn)?;
                done += rows.len();
            }
        }
    }
    Ok(done)
}
