//! A stored row that does not decrypt (corrupt, forged or moved ciphertext)
//! must not take a search down (issue #15, "Availability"): the search answers
//! with the other matches and an OperationOutcome warning in the searchset
//! (entry.search.mode = outcome, http://hl7.org/fhir/R4/bundle.html#searchset
//! and search.html#errors), the row is counted in `/metrics`, and a read of
//! that row itself answers a 500 OperationOutcome.

use diesel::RunQueryDsl;
use serde_json::Value;

use crate::helpers::*;

fn count(app: &TestApp, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query(sql)
        .get_result::<N>(&mut app.conn())
        .unwrap()
        .n
}

fn entries<'a>(bundle: &'a Value, mode: &str) -> Vec<&'a Value> {
    bundle["entry"]
        .as_array()
        .map(|e| e.iter().filter(|e| e["search"]["mode"] == mode).collect())
        .unwrap_or_default()
}

async fn unreadable_metric(app: &TestApp) -> u64 {
    let text = app.get("/metrics").await.text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("fhirgate_unreadable_total "))
        .unwrap_or_else(|| panic!("no fhirgate_unreadable_total in {text}"))
        .parse()
        .unwrap()
}

/// The warnings of the searchset's OperationOutcome entry.
fn warnings(bundle: &Value) -> Vec<String> {
    let outcomes = entries(bundle, "outcome");
    assert_eq!(outcomes.len(), 1, "one OperationOutcome entry: {bundle}");
    let oo = &outcomes[0]["resource"];
    assert_eq!(oo["resourceType"], "OperationOutcome");
    oo["issue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            assert_eq!(i["severity"], "warning", "{i}");
            i["diagnostics"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[tokio::test]
async fn an_audit_event_that_does_not_decrypt_is_left_out_with_a_warning() {
    let app = spawn_app().await;
    for i in 0..4 {
        app.create(&patient("Unreadable", &format!("UR-{i}"))).await;
    }
    // AuditEvents are written behind the responses: wait for the four creates'.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while count(&app, "SELECT count(*) AS n FROM audit_events") < 4 {
        assert!(std::time::Instant::now() < deadline, "no AuditEvents");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // The table is append-only, so the broken rows are added: a copy of a row
    // under another id (its ciphertext is bound to the id it was sealed for),
    // and a copy with one byte of its ciphertext flipped.
    let copy = |id: &str, body: &str| {
        format!(
            "INSERT INTO audit_events (tenant_id, id, recorded, key_id, body, type_code, subtype, action, \
             outcome, entities, patients, agents, address, terms) \
             SELECT tenant_id, '{id}', recorded, key_id, {body}, type_code, subtype, action, outcome, \
             entities, patients, agents, address, terms FROM audit_events ORDER BY id LIMIT 1"
        )
    };
    let mut conn = app.conn();
    diesel::sql_query(copy("forged-moved", "body"))
        .execute(&mut conn)
        .unwrap();
    diesel::sql_query(copy(
        "forged-flipped",
        "set_byte(body, 40, get_byte(body, 40) # 255)",
    ))
    .execute(&mut conn)
    .unwrap();
    let stored = count(&app, "SELECT count(*) AS n FROM audit_events");
    let before = unreadable_metric(&app).await;

    let r = app.get("AuditEvent?_count=100").await;
    assert_eq!(r.status(), 200);
    let bundle: Value = r.json().await.unwrap();
    let matches = entries(&bundle, "match");
    // Every other AuditEvent stored when the search ran is there.
    assert_eq!(matches.len() as i64, stored - 2, "{bundle}");
    for m in &matches {
        let id = m["resource"]["id"].as_str().unwrap();
        assert!(!id.starts_with("forged-"), "{id} was served");
        assert_eq!(m["resource"]["resourceType"], "AuditEvent");
    }
    let warned = warnings(&bundle);
    assert_eq!(warned.len(), 2, "{warned:?}");
    for id in ["forged-moved", "forged-flipped"] {
        assert!(
            warned
                .iter()
                .any(|w| w.contains(&format!("AuditEvent/{id}"))),
            "{warned:?}"
        );
    }
    assert_eq!(unreadable_metric(&app).await, before + 2);

    // Reading the broken row itself is a server fault, answered as one.
    let r = app.get("AuditEvent/forged-flipped").await;
    let oo = assert_outcome(r, 500).await;
    assert_eq!(oo["issue"][0]["code"], "exception");
    assert_eq!(unreadable_metric(&app).await, before + 3);
}

#[tokio::test]
async fn a_patient_that_does_not_decrypt_is_left_out_of_searches_with_a_warning() {
    let app = spawn_app().await;
    let (good, _) = app.create(&patient("Brokenbody", "UB-1")).await;
    let (bad, _) = app.create(&patient("Brokenbody", "UB-2")).await;
    let (obs, _) = app
        .create(&serde_json::json!({
            "resourceType": "Observation", "status": "final",
            "code": {"text": "weight"}, "subject": {"reference": format!("Patient/{bad}")}
        }))
        .await;
    diesel::sql_query(format!(
        "UPDATE resource_versions SET body = set_byte(body, 40, get_byte(body, 40) # 255) WHERE id = '{bad}'"
    ))
    .execute(&mut app.conn())
    .unwrap();

    let bundle = app.get_value("Patient?family=brokenbody").await;
    let matches = entries(&bundle, "match");
    assert_eq!(matches.len(), 1, "{bundle}");
    assert_eq!(matches[0]["resource"]["id"], good.as_str());
    let warned = warnings(&bundle);
    assert!(warned[0].contains(&format!("Patient/{bad}")), "{warned:?}");

    // The same for an included resource: the match is served, the include warned.
    let bundle = app
        .get_value(&format!(
            "Observation?_id={obs}&_include=Observation:subject"
        ))
        .await;
    assert_eq!(entries(&bundle, "match").len(), 1, "{bundle}");
    assert_eq!(entries(&bundle, "include").len(), 0, "{bundle}");
    assert!(warnings(&bundle)[0].contains(&format!("Patient/{bad}")));

    let r = app.get(&format!("Patient/{bad}")).await;
    assert_outcome(r, 500).await;
}
