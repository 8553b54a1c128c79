//! `fhirgate import` stores what a PUT of the same resource stores (issue #15):
//! references to types the gateway does not serve are literal references like
//! any other (references.html: a literal reference need not resolve here), so
//! they are kept, in the resource and in its `contained`; and a folder's
//! response Bundles (bundle.html#bundle-types: batch-response,
//! transaction-response, searchset) are a server's answers, skipped with a line
//! in the summary, not a failure.

use serde_json::{json, Value};

use crate::bundles::read;
use crate::helpers::*;
use crate::import::{run, total};

fn observation(id: &str) -> Value {
    json!({"resourceType": "Observation", "id": id, "status": "final",
        "contained": [{"resourceType": "Specimen", "id": "sp",
                       "subject": {"reference": "Device/d1"},
                       "request": [{"reference": "ServiceRequest/sr1"}]}],
        "basedOn": [{"reference": "ServiceRequest/sr1"}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8302-2"}]},
        "subject": {"reference": "Group/g1"},
        "encounter": {"reference": "Encounter/e9", "display": "the visit"},
        "specimen": {"reference": "#sp"}})
}

fn without_meta(mut v: Value) -> Value {
    if let Some(m) = v.as_object_mut() {
        m.remove("id");
        m.remove("meta");
    }
    v
}

#[tokio::test]
async fn import_stores_what_put_stores_and_skips_responses() {
    let app = spawn_app().await;
    let dir = std::env::temp_dir().join(format!(
        "fhirgate-import-put-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a-obs.json"), observation("ip-1").to_string()).unwrap();
    let responses = [
        json!({"resourceType": "Bundle", "type": "batch-response", "entry": [
            {"response": {"status": "201 Created", "location": "Patient/1/_history/1"}}]}),
        json!({"resourceType": "Bundle", "type": "transaction-response", "entry": [
            {"response": {"status": "200 OK"}}]}),
        json!({"resourceType": "Bundle", "type": "searchset", "total": 1, "entry": [
            {"fullUrl": "http://example.org/fhir/Observation/s1",
             "resource": observation("from-a-search"), "search": {"mode": "match"}}]}),
    ];
    for (i, r) in responses.iter().enumerate() {
        std::fs::write(dir.join(format!("b-response-{i}.json")), r.to_string()).unwrap();
    }

    let s = run(&app, vec![dir], false).await;
    assert!(!s.failed_hard(), "{:?}", s.failures);
    assert_eq!(s.files, 4);
    assert_eq!(s.skipped.len(), 3, "{:?}", s.skipped);
    for kind in ["batch-response", "transaction-response", "searchset"] {
        assert!(
            s.skipped.iter().any(|l| l.contains(kind)),
            "{:?}",
            s.skipped
        );
    }
    let mut printed = Vec::new();
    s.print(&mut printed).unwrap();
    let printed = String::from_utf8(printed).unwrap();
    assert!(printed.contains("skipped"), "{printed}");
    assert!(printed.contains("exit 0"), "{printed}");

    // The same resource PUT over HTTP.
    let put = app.put_json("Observation/ip-2", &observation("ip-2")).await;
    assert_eq!(put.status().as_u16(), 201, "{}", put.text().await.unwrap());
    let imported = read(&app, "Observation/ip-1").await;
    assert_eq!(imported["subject"], json!({"reference": "Group/g1"}));
    assert_eq!(
        without_meta(imported),
        without_meta(read(&app, "Observation/ip-2").await)
    );
    // Nothing of the searchset was imported.
    assert_eq!(total(&app, "Observation").await, 2);
}
