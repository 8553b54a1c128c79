//! Bad input on the issue #4 paths (transaction/batch, PATCH, $everything,
//! system history): always a 4xx OperationOutcome, never a 5xx or a hang.

use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn bad_input_on_bundle_patch_and_everything_paths() {
    let app = spawn_app().await;
    let (id, _) = app.create(&patient("Bad", "BAD-1")).await;
    let tx = |entries: serde_json::Value| {
        json!({"resourceType": "Bundle", "type": "transaction", "entry": entries}).to_string()
    };
    let raw_posts: Vec<(&str, String)> = vec![
        ("garbage", "{nope".into()),
        ("not a Bundle", r#"{"resourceType":"Patient"}"#.into()),
        (
            "entry.resource is an array",
            tx(json!([{"resource": [], "request": {"method": "POST", "url": "Patient"}}])),
        ),
        (
            "path escape in url",
            tx(json!([{"request": {"method": "GET", "url": "Patient/../../x"}}])),
        ),
        (
            "unknown parameter in a conditional reference",
            tx(
                json!([{"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "subject": {"reference": "Patient?foo=bar"}}, "request": {"method": "POST", "url": "Observation"}}]),
            ),
        ),
        (
            "malformed ifMatch",
            tx(
                json!([{"resource": {"resourceType": "Patient", "id": "zz"}, "request": {"method": "PUT", "url": "Patient/zz", "ifMatch": "garbage"}}]),
            ),
        ),
        (
            "NUL in a GET url",
            tx(json!([{"request": {"method": "GET", "url": "Patient?name=a\u{0}b"}}])),
        ),
        (
            "an unsupported method",
            tx(json!([{"request": {"method": "HEAD", "url": "Patient"}}])),
        ),
        (
            "writing an AuditEvent",
            tx(
                json!([{"resource": {"resourceType": "AuditEvent"}, "request": {"method": "POST", "url": "AuditEvent"}}]),
            ),
        ),
    ];
    for (name, body) in raw_posts {
        let r = app
            .client
            .post(app.url(""))
            .header("content-type", FHIR_JSON)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        assert!((400..500).contains(&status), "{name}: {status}");
        assert_outcome(r, status).await;
    }
    let p = format!("Patient/{id}");
    let patches: Vec<(&str, &str, &str, u16)> = vec![
        ("not JSON", "application/json-patch+json", "nope", 400),
        ("text/plain", "text/plain", "nope", 415),
        (
            "Parameters without operations",
            FHIR_JSON,
            r#"{"resourceType":"Parameters"}"#,
            400,
        ),
        (
            "operation without parts",
            FHIR_JSON,
            r#"{"resourceType":"Parameters","parameter":[{"name":"operation"}]}"#,
            422,
        ),
        (
            "replace the id",
            "application/json-patch+json",
            r#"[{"op":"replace","path":"/id","value":"other"}]"#,
            422,
        ),
        (
            "remove resourceType",
            "application/json-patch+json",
            r#"[{"op":"remove","path":"/resourceType"}]"#,
            422,
        ),
        (
            "replace the whole document",
            "application/json-patch+json",
            r#"[{"op":"replace","path":"","value":[]}]"#,
            422,
        ),
    ];
    for (name, ct, body, want) in patches {
        let r = app
            .client
            .patch(app.url(&p))
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), want, "{name}");
        assert_outcome(r, want).await;
    }
    for (q, want) in [
        (format!("{p}/$everything?_page=%25%25"), 400),
        (format!("{p}/$everything?_type=Foo"), 400),
        (format!("{p}/$everything?_since=yesterday"), 400),
        (format!("{p}/$everything?_count=0"), 400),
        ("_history?_count=-1".to_owned(), 400),
    ] {
        assert_outcome(app.get(&q).await, want).await;
    }
    // The database still works afterwards.
    assert_eq!(app.get(&p).await.status(), 200);
}
