//! Bad input gets a 4xx OperationOutcome: never a 5xx, a panic or a hang.

use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn bad_input_table() {
    let app = spawn_app_with(|s| s.max_body_bytes = 64 * 1024).await;
    let deep_array = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_object = format!(
        "{{\"resourceType\":\"Patient\",\"extension\":{}{}}}",
        "{\"a\":".repeat(10_000),
        "}".repeat(10_000)
    );
    let cases: Vec<(&str, &str, Vec<u8>, u16)> = vec![
        (
            "malformed JSON",
            "Patient",
            b"{\"resourceType\": \"Patient\",".to_vec(),
            400,
        ),
        ("not an object", "Patient", b"[1,2,3]".to_vec(), 400),
        ("empty body", "Patient", b"".to_vec(), 400),
        ("10,000-deep array", "Patient", deep_array.into_bytes(), 400),
        (
            "10,000-deep object",
            "Patient",
            deep_object.into_bytes(),
            400,
        ),
        (
            "wrong resourceType",
            "Patient",
            json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}})
                .to_string()
                .into_bytes(),
            400,
        ),
        (
            "missing resourceType",
            "Patient",
            json!({"gender": "male"}).to_string().into_bytes(),
            400,
        ),
        (
            "unknown element",
            "Patient",
            json!({"resourceType": "Patient", "colour": "blue"})
                .to_string()
                .into_bytes(),
            400,
        ),
        (
            "impossible date",
            "Patient",
            json!({"resourceType": "Patient", "birthDate": "1980-02-30"})
                .to_string()
                .into_bytes(),
            400,
        ),
        (
            "bad code",
            "Patient",
            json!({"resourceType": "Patient", "gender": 7})
                .to_string()
                .into_bytes(),
            400,
        ),
        (
            "missing required",
            "Observation",
            json!({"resourceType": "Observation", "code": {"text": "x"}})
                .to_string()
                .into_bytes(),
            400,
        ),
        (
            "NUL byte raw",
            "Patient",
            b"{\"resourceType\":\"Patient\",\"gender\":\"ma\0le\"}".to_vec(),
            400,
        ),
        (
            "NUL escaped",
            "Patient",
            br#"{"resourceType":"Patient","name":[{"family":"a\u0000b"}]}"#.to_vec(),
            400,
        ),
        (
            "duplicate keys",
            "Patient",
            br#"{"resourceType":"Patient","gender":"male","gender":"female"}"#.to_vec(),
            400,
        ),
        (
            "invalid UTF-8",
            "Patient",
            b"{\"resourceType\":\"Patient\",\"gender\":\"\xff\"}".to_vec(),
            400,
        ),
        (
            "oversize body",
            "Patient",
            format!(
                "{{\"resourceType\":\"Patient\",\"id\":\"{}\"}}",
                "a".repeat(100_000)
            )
            .into_bytes(),
            413,
        ),
        (
            "unserved type",
            "Encounter",
            json!({"resourceType": "Encounter"})
                .to_string()
                .into_bytes(),
            404,
        ),
    ];
    for (name, rtype, body, status) in cases {
        let resp = app
            .client
            .post(app.url(rtype))
            .header("content-type", FHIR_JSON)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), status, "case {name}");
        let oo = assert_outcome(resp, status).await;
        assert_eq!(oo["issue"][0]["severity"], "error", "case {name}");
    }
    // The element at fault is named (issue.expression).
    let oo = assert_outcome(
        app.post_json(
            "Patient",
            &json!({"resourceType": "Patient", "birthDate": "1980-02-30"}),
        )
        .await,
        400,
    )
    .await;
    assert!(oo.to_string().contains("Patient.birthDate"), "{oo}");
}

#[tokio::test]
async fn bad_ids_and_queries() {
    let app = spawn_app().await;
    let too_long = "a".repeat(65);
    for id in ["a%2Fb", "%20", too_long.as_str(), "a$b", "%00"] {
        let r = app.get(&format!("Patient/{id}")).await;
        let s = r.status().as_u16();
        assert!(s == 400 || s == 404, "id {id:?}: {s}");
        assert_outcome(r, s).await;
    }
    let mut p = patient("Ids", "I-1");
    p["id"] = json!("bad id!");
    assert_outcome(app.put_json("Patient/bad-id", &p).await, 400).await;
    for q in [
        "Patient?_count=-1",
        "Patient?_count=abc",
        "Patient?birthdate=ge1980-02-30",
        "Patient?name:contains=abc",
        "Patient/x/_history?_page=%%%",
    ] {
        let r = app.get(q).await;
        assert!(r.status().is_client_error(), "{q}: {}", r.status());
    }
    // Hostile values are data, not SQL.
    let r: serde_json::Value = app
        .get("Patient?family='; DROP TABLE resources;--")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["total"], 0);
    assert_eq!(app.get("Patient?_count=999999").await.status(), 200);
}

/// R4 invariants are business rules: 422 with code invariant (http.html#2.21.0.17).
#[tokio::test]
async fn invariants_give_422() {
    let app = spawn_app().await;
    let appt = json!({"resourceType": "Appointment", "status": "booked", "start": "2026-05-01T10:00:00Z",
        "participant": [{"actor": {"reference": "Practitioner/x"}, "status": "accepted"}]});
    let oo = assert_outcome(app.post_json("Appointment", &appt).await, 422).await;
    assert_eq!(oo["issue"][0]["code"], "invariant");
    assert!(oo["issue"][0]["diagnostics"]
        .as_str()
        .unwrap()
        .starts_with("app-2"));
    let backwards = json!({"resourceType": "Appointment", "status": "booked", "start": "2026-05-01T10:00:00Z", "end": "2026-05-01T09:00:00Z",
        "participant": [{"actor": {"reference": "Practitioner/x"}, "status": "accepted"}]});
    assert_outcome(app.post_json("Appointment", &backwards).await, 422).await;
    let obs = json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "valueString": "a", "dataAbsentReason": {"text": "b"}});
    assert_outcome(app.post_json("Observation", &obs).await, 422).await;
}
