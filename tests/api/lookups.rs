//! Conditional lookups (ifNoneExist, conditional update, conditional references)
//! find their identifier through the GIN index of `idx_keys` even when the
//! table's statistics are stale, as they are on a database that just grew:
//! the planner otherwise took the primary key's (tenant, type) prefix for a
//! single row and scanned every resource of the type (docs/performance.md).

use crate::helpers::*;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

#[derive(QueryableByName)]
struct Scans {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn scans(conn: &mut PgConnection, index: &str) -> i64 {
    // This transaction's own count: visible at once, unlike pg_stat_user_indexes.
    diesel::sql_query("SELECT pg_stat_get_xact_numscans($1::regclass)::int8 AS n")
        .bind::<Text, _>(index)
        .get_result::<Scans>(conn)
        .unwrap()
        .n
}

#[tokio::test]
async fn conditional_lookups_use_the_key_index_under_stale_statistics() {
    let app = spawn_app().await;
    let master = fhirgate::crypto::MasterKey::parse(&app.master_key_hex).unwrap();
    let keyring = fhirgate::crypto::Keyring::new(master);
    let tenant = fhirgate::tenant::TenantId::default_tenant();
    let model = fhirgate::fhir::FhirModel::load().unwrap();
    let mut conn = PgConnection::establish(&app.db_url).unwrap();
    // Statistics of an empty table, then a table that is no longer empty.
    diesel::sql_query("ANALYZE idx_keys")
        .execute(&mut conn)
        .unwrap();
    diesel::sql_query(
        "INSERT INTO idx_keys (tenant_id, resource_type, resource_id, keys) \
         SELECT 'default', 'Patient', 'stale-' || g, ARRAY['Patient|identifier|c|' || md5(g::text)] \
         FROM generate_series(1, 5000) AS g",
    )
    .execute(&mut conn)
    .unwrap();
    let query = vec![("identifier".to_owned(), "urn:x|nobody".to_owned())];
    let rtype = fhirgate::model::ResourceType::Patient;
    let criteria =
        fhirgate::fhir::search::conditional_criteria(&model.registry, rtype, &query).unwrap();
    conn.transaction::<_, diesel::result::Error, _>(|conn| {
        let ix = keyring.indexer(conn, tenant.as_str()).unwrap();
        let (pk0, gin0) = (scans(conn, "idx_keys_pkey"), scans(conn, "idx_keys_gin"));
        let one = fhirgate::fhir::search::find_ids(conn, &ix, &tenant, rtype, &criteria, None, 2);
        assert!(one.unwrap().is_empty());
        let many = fhirgate::fhir::search::find_many(
            conn,
            &ix,
            &tenant,
            &[(rtype, criteria.clone()), (rtype, criteria.clone())],
            None,
        );
        assert_eq!(many.unwrap(), vec![vec![], vec![]]);
        assert_eq!(
            scans(conn, "idx_keys_pkey"),
            pk0,
            "a lookup scanned by the primary key"
        );
        assert_eq!(scans(conn, "idx_keys_gin") - gin0, 3);
        Ok(())
    })
    .unwrap();
}
