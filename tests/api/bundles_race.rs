//! Transactions under concurrency (issue #4, "Concurrency"): two transactions
//! that race on the same conditional create produce one resource, not two, and
//! a single conditional create racing them joins the same resource.

use crate::helpers::*;
use serde_json::{json, Value};

fn tx(i: usize) -> Value {
    json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": format!("urn:uuid:00000000-0000-4000-8000-{i:012}"),
         "resource": patient("Racer", "TX-RACE-1"),
         "request": {"method": "POST", "url": "Patient",
                     "ifNoneExist": "identifier=urn:oid:1.2.36.146.595.217.0.1|TX-RACE-1"}},
        {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": format!("race {i}")},
                      "subject": {"reference": format!("urn:uuid:00000000-0000-4000-8000-{i:012}")}},
         "request": {"method": "POST", "url": "Observation"}}
    ]})
}

#[tokio::test]
async fn racing_conditional_creates_in_transactions_make_one_patient() {
    let app = spawn_app().await;
    let mut tasks = Vec::new();
    for i in 0..12 {
        let (client, url, body) = (app.client.clone(), app.url(""), tx(i).to_string());
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .header("content-type", FHIR_JSON)
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            let b: Value = r.json().await.unwrap();
            let loc = b["entry"][0]["response"]["location"]
                .as_str()
                .unwrap()
                .to_owned();
            let status = b["entry"][0]["response"]["status"]
                .as_str()
                .unwrap()
                .to_owned();
            (status, loc.split("/_history").next().unwrap().to_owned())
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    // http.html#ccreate inside a transaction: one creates (201), the others find it (200).
    assert_eq!(
        results.iter().filter(|(s, _)| s.starts_with("201")).count(),
        1,
        "{results:?}"
    );
    assert!(
        results.iter().all(|(_, p)| *p == results[0].1),
        "{results:?}"
    );
    let found: Value = app
        .get("Patient?identifier=TX-RACE-1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["total"], 1);
    // Every transaction's Observation points at that one Patient.
    let obs: Value = app
        .get(&format!(
            "Observation?subject={}&_total=accurate",
            results[0].1
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(obs["total"], 12);
}
