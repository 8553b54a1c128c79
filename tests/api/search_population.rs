//! Search over the shared R4 examples and a generated population (issue #3,
//! "Tests"). Expected sets for the examples were read off the example files by
//! hand; those for the population are computed here from the generator's own
//! data with the spec's rules (http://hl7.org/fhir/R4/search.html), never from
//! the server's answers.

use crate::helpers::*;
use crate::search_common::*;
use serde_json::{json, Value};

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/examples/fhir");

async fn put(app: &TestApp, r: &Value) {
    let path = format!(
        "{}/{}",
        r["resourceType"].as_str().unwrap(),
        r["id"].as_str().unwrap()
    );
    let resp = app.put_json(&path, r).await;
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
}

fn strs(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn searches_over_the_shared_examples() {
    let app = spawn_app().await;
    for t in [
        "Patient",
        "Practitioner",
        "Observation",
        "MedicationRequest",
        "Appointment",
    ] {
        let mut files: Vec<_> = std::fs::read_dir(EXAMPLES)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .starts_with(&format!("{t}-"))
            })
            .collect();
        files.sort();
        for f in files {
            let r: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
            put(&app, &r).await;
        }
    }
    // Patient.gender of the 11 example Patients (patient.html#search: gender token).
    assert_eq!(
        ids(&app, "Patient?gender=female").await,
        strs(&["animal", "genetics-example1", "infant-mom", "pat4"])
    );
    assert_eq!(ids(&app, "Patient?gender=other").await, strs(&["pat2"]));
    assert_eq!(
        ids(&app, "Patient?gender:missing=true").await,
        strs(&["ihe-pcd"])
    );
    // Observation.subject references as written in the example files.
    assert_eq!(
        ids(&app, "Observation?subject=Patient/f001").await,
        strs(&["ekg", "f001", "f003", "f005", "unsat"])
    );
    assert_eq!(
        ids(&app, "Observation?subject:Group=herd1").await,
        strs(&["herd1"])
    );
    assert_eq!(
        ids(&app, "MedicationRequest?status=on-hold").await,
        strs(&["medrx0326", "medrx0334"])
    );
    // _include follows Observation.subject to the example Patient f001.
    let b = app
        .get_value("Observation?patient=f001&_include=Observation:patient")
        .await;
    let included: Vec<&str> = b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["search"]["mode"] == "include")
        .map(|e| e["resource"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(included, vec!["f001"]);
}

const FAMILIES: [&str; 6] = ["Alvarez", "Becker", "Chen", "Dubois", "Eriksen", "Fofanah"];

#[tokio::test]
async fn searches_over_a_generated_population() {
    let app = spawn_app().await;
    // 60 Patients: family cycles through FAMILIES, gender alternates, born 1950+i.
    // 3 Observations each (heart rate, i + k*7 beats/min, on 2020-01-(k+1)).
    struct Obs {
        id: String,
        patient: usize,
        value: i64,
        day: u32,
    }
    let mut observations = Vec::new();
    for i in 0..60usize {
        put(
            &app,
            &json!({"resourceType": "Patient", "id": format!("pop{i}"),
                    "name": [{"family": FAMILIES[i % 6], "given": ["Test"]}],
                    "gender": if i % 2 == 0 { "female" } else { "male" },
                    "birthDate": format!("{}-03-04", 1950 + i)}),
        )
        .await;
        for k in 0..3u32 {
            let value = i as i64 + i64::from(k) * 7;
            let id = format!("pop{i}-o{k}");
            put(
                &app,
                &json!({"resourceType": "Observation", "id": id, "status": "final",
                        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                        "subject": {"reference": format!("Patient/pop{i}")},
                        "effectiveDateTime": format!("2020-01-{:02}T08:00:00Z", k + 1),
                        "valueQuantity": {"value": value, "unit": "beats/minute",
                                          "system": "http://unitsofmeasure.org", "code": "/min"}}),
            )
            .await;
            observations.push(Obs {
                id,
                patient: i,
                value,
                day: k + 1,
            });
        }
    }
    let expect = |f: &dyn Fn(&Obs) -> bool| {
        let mut v: Vec<String> = observations
            .iter()
            .filter(|o| f(o))
            .map(|o| o.id.clone())
            .collect();
        v.sort();
        v
    };
    // string: default starts-with on family, case-insensitive (search.html#string).
    let mut chen: Vec<String> = (0..60)
        .filter(|i| i % 6 == 2)
        .map(|i| format!("pop{i}"))
        .collect();
    chen.sort();
    assert_eq!(ids(&app, "Patient?family=CHE&_count=100").await, chen);
    // token AND birthdate (encrypted: equality at year precision).
    assert_eq!(
        ids(&app, "Patient?gender=male&birthdate=1961").await,
        vec!["pop11".to_string()]
    );
    assert_eq!(
        ids(&app, "Patient?gender=female&birthdate=1961").await,
        Vec::<String>::new()
    );
    // quantity prefixes (search.html#quantity) and a chain to the subject's family.
    assert_eq!(
        ids(&app, "Observation?value-quantity=gt60&_count=200").await,
        expect(&|o| o.value > 60)
    );
    assert_eq!(
        ids(
            &app,
            "Observation?value-quantity=le10|http://unitsofmeasure.org|/min&_count=200"
        )
        .await,
        expect(&|o| o.value <= 10)
    );
    assert_eq!(
        ids(
            &app,
            "Observation?subject:Patient.family=becker&date=2020-01-02&_count=200"
        )
        .await,
        expect(&|o| o.patient % 6 == 1 && o.day == 2)
    );
    // Paging through everything, sorted by value descending then id: every
    // Observation exactly once, in that order (search.html#sort, #count).
    let mut order: Vec<(i64, String)> = observations
        .iter()
        .map(|o| (-o.value, o.id.clone()))
        .collect();
    order.sort();
    let want: Vec<String> = order.into_iter().map(|(_, id)| id).collect();
    let got: Vec<String> = all_pages(&app, "Observation?_sort=-value-quantity,_id&_count=13")
        .await
        .iter()
        .flat_map(match_ids)
        .collect();
    assert_eq!(got, want);
    // _total=accurate counts all 180 while returning one page.
    let b = app.get_value("Observation?_total=accurate&_count=5").await;
    assert_eq!(b["total"], 180);
    assert_eq!(b["entry"].as_array().unwrap().len(), 5);
}

#[derive(diesel::QueryableByName, Debug, PartialEq)]
struct KeyRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    resource_id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    k: String,
}

fn key_rows(conn: &mut diesel::PgConnection) -> Vec<KeyRow> {
    use diesel::RunQueryDsl;
    diesel::sql_query(
        "SELECT resource_id, array_to_string(ARRAY(SELECT unnest(keys) ORDER BY 1), ' ') AS k \
         FROM idx_keys ORDER BY resource_id",
    )
    .load(conn)
    .unwrap()
}

/// The equality keys the writer stores (store/index/keys.rs) are exactly those
/// the migration's SQL backfill derives from the token and reference rows, so
/// databases indexed before the migration search the same as new ones.
#[tokio::test]
async fn search_keys_backfill_matches_the_writer() {
    use diesel::connection::SimpleConnection;
    let app = spawn_app().await;
    let (p, _) = app.create(&patient("Keys", "K-1")).await;
    app.create(&json!({"resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}, {"code": "local"}], "text": "HR"},
        "subject": {"reference": format!("Patient/{p}")},
        "performer": [{"reference": "http://other.example.org/fhir/Practitioner/x"}],
        "identifier": [{"system": "urn:acc", "value": "A-9"}]}))
        .await;
    let mut conn = app.conn();
    let written = key_rows(&mut conn);
    assert!(written.len() >= 2 && written.iter().all(|r| !r.k.is_empty()));
    // No plaintext PHI in the keys: the MRN and accession number are blind-indexed.
    assert!(written
        .iter()
        .all(|r| !r.k.contains("K-1") && !r.k.contains("A-9")));
    let up = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/migrations/2026-12-01-000002_search_keys/up.sql"
    ))
    .unwrap();
    let backfill = &up[up.find("INSERT INTO idx_keys").unwrap()..];
    conn.batch_execute(&format!("BEGIN; DELETE FROM idx_keys; {backfill}"))
        .unwrap();
    let derived = key_rows(&mut conn);
    conn.batch_execute("ROLLBACK").unwrap();
    assert_eq!(derived, written);
}
