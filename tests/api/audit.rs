//! Every interaction leaves an AuditEvent (IHE BALP shape), failures included.

use crate::helpers::*;
use serde_json::Value;

async fn audit_search(app: &TestApp, query: &str, at_least: i64) -> Value {
    // Reads are audited through a batched writer: poll briefly.
    for _ in 0..50 {
        let v: Value = app
            .get(&format!("AuditEvent?{query}"))
            .await
            .json()
            .await
            .unwrap();
        if v["total"].as_i64().unwrap_or(0) >= at_least {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no AuditEvent for {query}");
}

#[tokio::test]
async fn interactions_are_audited() {
    let app = spawn_app().await;
    let (id, _) = app.create(&patient("Audited", "AU-1")).await;
    assert_eq!(app.get(&format!("Patient/{id}")).await.status(), 200);
    assert_eq!(app.get("Patient/does-not-exist").await.status(), 404);
    assert_eq!(
        app.post_json(
            "Patient",
            &serde_json::json!({"resourceType": "Patient", "x": 1})
        )
        .await
        .status(),
        400
    );

    // The create committed with its AuditEvent: action C, outcome 0. (The refused
    // create above is a create too, with outcome 4.)
    let created = audit_search(&app, "subtype=create&outcome=0", 1).await;
    assert_eq!(created["total"], 1);
    let refused = audit_search(
        &app,
        "subtype=http://hl7.org/fhir/restful-interaction|create&outcome=4",
        1,
    )
    .await;
    assert_eq!(refused["total"], 1);
    let e = &created["entry"][0]["resource"];
    assert_eq!(e["type"]["code"], "rest");
    assert_eq!(e["action"], "C");
    assert_eq!(e["outcome"], "0");
    assert_eq!(e["agent"][0]["requestor"], true);
    assert_eq!(e["agent"][0]["network"]["address"], "127.0.0.1");

    // The read names the patient, so it is found by patient.
    let by_patient = audit_search(&app, &format!("patient=Patient/{id}&subtype=read"), 1).await;
    assert_eq!(by_patient["entry"][0]["resource"]["action"], "R");

    // Failures are audited with a failure outcome: the 404 read and the 400 create.
    let failed = audit_search(&app, "outcome=4", 2).await;
    assert_eq!(failed["total"], 2);
    // A code from another system matches nothing.
    let v: Value = app
        .get("AuditEvent?action=http://example.org|C")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["total"], 0);

    // AuditEvents are readable by id.
    let aid = e["id"].as_str().unwrap();
    let read: Value = app
        .get(&format!("AuditEvent/{aid}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["id"], aid);
}
