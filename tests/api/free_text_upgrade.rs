//! Upgrading a database whose index still holds readable free text
//! (migrations 000010/000011, issue #15): the gateway turns that text into the
//! blind indexes a new write makes before the readable columns are dropped,
//! and refuses to drop them unconverted when it has no keys.

use diesel::connection::SimpleConnection;
use diesel::sql_types::{Bytea, Nullable, Text};
use diesel::{sql_query, PgConnection, QueryableByName, RunQueryDsl};
use serde_json::json;

use crate::helpers::*;
use crate::search_common::ids;

#[derive(QueryableByName, Debug, PartialEq)]
struct Blind {
    #[diesel(sql_type = Nullable<Bytea>)]
    b: Option<Vec<u8>>,
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    column_name: String,
}

fn blind(conn: &mut PgConnection, query: &str) -> Vec<Option<Vec<u8>>> {
    sql_query(query)
        .load::<Blind>(conn)
        .unwrap()
        .into_iter()
        .map(|r| r.b)
        .collect()
}

const TEXT: &str = "SELECT text_bis AS b FROM idx_token \
     WHERE resource_type = 'Observation' AND param = 'code' ORDER BY text_bis";
const UNIT: &str = "SELECT unit_bi AS b FROM idx_quantity \
     WHERE resource_type = 'Observation' AND param = 'value-quantity'";

/// Puts the database back as the release before 000011 left it: readable text
/// and unit, no blind values.
fn as_before_the_upgrade(conn: &mut PgConnection, text: &str, unit: &str) {
    conn.batch_execute(include_str!(
        "../../migrations/2026-12-07-000011_free_text_plaintext_dropped/down.sql"
    ))
    .unwrap();
    conn.batch_execute("DELETE FROM __diesel_schema_migrations WHERE version = '20261207000011'")
        .unwrap();
    sql_query(
        "UPDATE idx_token SET text_norm = $1, text_bis = NULL \
         WHERE resource_type = 'Observation' AND param = 'code'",
    )
    .bind::<Text, _>(fhirgate::store::index::phi::fold(text))
    .execute(conn)
    .unwrap();
    sql_query("UPDATE idx_quantity SET unit = $1, unit_bi = NULL WHERE unit_bi IS NOT NULL")
        .bind::<Text, _>(unit)
        .execute(conn)
        .unwrap();
}

#[tokio::test]
async fn readable_free_text_is_converted_before_it_is_dropped() {
    let app = spawn_app().await;
    let (id, _) = app
        .create(&json!({"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4",
                                 "display": "Heart rate"}],
                     "text": "Suspected abuse by caregiver"},
            "valueQuantity": {"value": 72, "unit": "beats/min"}}))
        .await;
    let mut conn = app.conn();
    let written = (blind(&mut conn, TEXT), blind(&mut conn, UNIT));
    assert!(written
        .0
        .iter()
        .all(|b| b.as_ref().is_some_and(|b| !b.is_empty())));
    assert_eq!(written.1.len(), 1);

    as_before_the_upgrade(
        &mut conn,
        "Suspected abuse by caregiver Heart rate",
        "beats/min",
    );

    // Without the keys, the readable text cannot be converted: the migration
    // that drops it must not run.
    let refused = fhirgate::store::bootstrap::run_migrations(&mut conn).unwrap_err();
    assert!(refused.to_string().contains("master key"), "{refused}");
    let text_norm = sql_query(
        "SELECT column_name FROM information_schema.columns \
         WHERE table_name = 'idx_token' AND column_name = 'text_norm'",
    )
    .load::<Column>(&mut conn)
    .unwrap();
    assert_eq!(
        text_norm.len(),
        1,
        "the readable column was dropped unconverted"
    );

    let master = fhirgate::crypto::MasterKey::parse(&app.master_key_hex).unwrap();
    let keyring = fhirgate::crypto::Keyring::new(master);
    fhirgate::store::bootstrap::run_migrations_with(&mut conn, Some(&keyring)).unwrap();

    // The converted values are those a new write makes, so searches find the
    // old rows exactly as new ones.
    assert_eq!((blind(&mut conn, TEXT), blind(&mut conn, UNIT)), written);
    let left = sql_query(
        "SELECT column_name FROM information_schema.columns \
         WHERE (table_name = 'idx_token' AND column_name = 'text_norm') \
            OR (table_name = 'idx_quantity' AND column_name = 'unit')",
    )
    .load::<Column>(&mut conn)
    .unwrap();
    assert!(
        left.is_empty(),
        "{:?}",
        left.iter().map(|c| &c.column_name).collect::<Vec<_>>()
    );
    assert_eq!(
        ids(&app, "Observation?code:text=abuse").await,
        vec![id.clone()]
    );
    assert_eq!(
        ids(&app, "Observation?value-quantity=72||beats/min").await,
        vec![id]
    );
}
