//! `Cache-Control: no-store` on every answer that may carry PHI (issue #15,
//! "HTTP details"; RFC 9111 5.2.2.5: no cache, shared or the browser's own,
//! keeps a copy): reads, vreads, searches, history, $everything, transaction
//! and batch answers, created and updated bodies, and errors.

use serde_json::json;

use crate::helpers::*;

fn assert_no_store(r: &reqwest::Response, what: &str) {
    let cc = r
        .headers()
        .get_all("cache-control")
        .iter()
        .map(|v| v.to_str().unwrap().to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(", ");
    assert!(
        cc.split(',').any(|d| d.trim() == "no-store"),
        "{what} ({}): Cache-Control {cc:?}",
        r.status()
    );
    assert!(!cc.contains("public"), "{what}: {cc}");
}

#[tokio::test]
async fn every_answer_carrying_phi_is_no_store() {
    let app = spawn_app().await;
    let p = patient("Nostore", "NS-1");
    let created = app.post_json("Patient", &p).await;
    assert_no_store(&created, "create");
    let id = created.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut updated = p.clone();
    updated["id"] = json!(id);
    updated["gender"] = json!("other");
    let r = app.put_json(&format!("Patient/{id}"), &updated).await;
    assert_eq!(r.status(), 200);
    assert_no_store(&r, "update");
    let gets = [
        format!("Patient/{id}"),
        format!("Patient/{id}/_history/1"),
        format!("Patient/{id}/_history"),
        "Patient/_history".to_owned(),
        "_history".to_owned(),
        "Patient?family=nostore".to_owned(),
        format!("Patient/{id}/$everything"),
        "AuditEvent?_count=5".to_owned(),
        // Errors: not found, a bad search parameter value, an unknown type.
        "Patient/does-not-exist".to_owned(),
        "Patient?birthdate=notadate".to_owned(),
        "Nonsense/1".to_owned(),
    ];
    for path in &gets {
        let r = app.get(path).await;
        assert_no_store(&r, path);
    }
    let r = app
        .client
        .get(app.url(&format!("Patient/{id}")))
        .header("if-none-match", "W/\"2\"")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    assert_no_store(&r, "conditional read");
    let r = app
        .client
        .post(app.url("Patient/_search"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("family=nostore")
        .send()
        .await
        .unwrap();
    assert_no_store(&r, "POST _search");
    for kind in ["transaction", "batch"] {
        let bundle = json!({"resourceType": "Bundle", "type": kind, "entry": [
            {"fullUrl": "urn:uuid:5b0a1c9e-8a57-4a8e-9b1e-0d3f2f6c1a01",
             "resource": patient("Nostore", "NS-2"),
             "request": {"method": "POST", "url": "Patient"}},
            {"request": {"method": "GET", "url": format!("Patient/{id}")}}
        ]});
        let r = app.post_json("", &bundle).await;
        assert_eq!(r.status(), 200, "{kind}");
        assert_no_store(&r, kind);
    }
    // A refused body that the OperationOutcome describes.
    let r = app
        .post_json(
            "Patient",
            &json!({"resourceType": "Patient", "gender": "nonsense"}),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_no_store(&r, "invalid create");
    let r = app.delete(&format!("Patient/{id}")).await;
    assert_no_store(&r, "delete");
    let r = app.get(&format!("Patient/{id}")).await;
    assert_eq!(r.status(), 410);
    assert_no_store(&r, "read of a deleted resource");
}
