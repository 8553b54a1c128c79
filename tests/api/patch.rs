//! PATCH (http://hl7.org/fhir/R4/http.html#patch): JSON Patch (RFC 6902) and
//! FHIRPath Patch (http://hl7.org/fhir/R4/fhirpatch.html); If-Match holds; the
//! result must be valid R4, else 422 and nothing changes.

use crate::helpers::*;
use serde_json::{json, Value};

async fn patch(
    app: &TestApp,
    path: &str,
    ct: &str,
    body: &Value,
    if_match: Option<&str>,
) -> reqwest::Response {
    let mut r = app
        .client
        .patch(app.url(path))
        .header("content-type", ct)
        .body(body.to_string());
    if let Some(m) = if_match {
        r = r.header("if-match", m);
    }
    r.send().await.unwrap()
}

async fn read(app: &TestApp, path: &str) -> Value {
    app.get_value(path).await
}

#[tokio::test]
async fn json_patch() {
    let app = spawn_app().await;
    let mut p = patient("Patchy", "P-1");
    p["birthDate"] = json!("1970-01-01");
    let (id, _) = app.create(&p).await;
    let path = format!("Patient/{id}");
    let ops = json!([
        {"op": "replace", "path": "/birthDate", "value": "1971-02-03"},
        {"op": "add", "path": "/name/0/given/-", "value": "Second"}
    ]);
    let r = patch(
        &app,
        &path,
        "application/json-patch+json",
        &ops,
        Some("W/\"1\""),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["etag"], "W/\"2\"");
    let now = read(&app, &path).await;
    assert_eq!(now["birthDate"], "1971-02-03");
    assert_eq!(
        now["name"][0]["given"].as_array().unwrap().last().unwrap(),
        "Second"
    );
    assert_eq!(now["meta"]["versionId"], "2");
    // History records the interaction as PATCH.
    let h = read(&app, &format!("{path}/_history")).await;
    assert_eq!(h["entry"][0]["request"]["method"], "PATCH");
    // A stale If-Match: 412.
    let again = json!([{"op": "replace", "path": "/birthDate", "value": "1972-01-01"}]);
    assert_outcome(
        patch(
            &app,
            &path,
            "application/json-patch+json",
            &again,
            Some("W/\"1\""),
        )
        .await,
        412,
    )
    .await;
    // A result that is not valid R4 (unknown element, bad code): 422, nothing changes.
    for bad in [
        json!([{"op": "add", "path": "/colour", "value": "blue"}]),
        json!([{"op": "replace", "path": "/gender", "value": "purple"}]),
        json!([{"op": "test", "path": "/birthDate", "value": "1900-01-01"}]),
        json!([{"op": "remove", "path": "/nothing/here"}]),
    ] {
        assert_outcome(
            patch(&app, &path, "application/json-patch+json", &bad, None).await,
            422,
        )
        .await;
    }
    assert_eq!(read(&app, &path).await["meta"]["versionId"], "2");
    // Not a patch document: 400. Unknown and deleted resources: 404, 410.
    assert_outcome(
        patch(
            &app,
            &path,
            "application/json-patch+json",
            &json!({"op": "x"}),
            None,
        )
        .await,
        400,
    )
    .await;
    assert_outcome(
        patch(
            &app,
            "Patient/nope",
            "application/json-patch+json",
            &again,
            None,
        )
        .await,
        404,
    )
    .await;
    assert_eq!(app.delete(&path).await.status(), 204);
    assert_outcome(
        patch(&app, &path, "application/json-patch+json", &again, None).await,
        410,
    )
    .await;
}

fn op(kind: &str, path: &str, extra: Vec<Value>) -> Value {
    let mut part = vec![
        json!({"name": "type", "valueCode": kind}),
        json!({"name": "path", "valueString": path}),
    ];
    part.extend(extra);
    json!({"name": "operation", "part": part})
}

#[tokio::test]
async fn fhirpath_patch() {
    let app = spawn_app().await;
    let mut p = patient("Fp", "FP-1");
    p["telecom"] = json!([{"system": "phone", "value": "555-0100"}]);
    p["name"] = json!([{"family": "Fp", "given": ["One"]}]);
    let (id, _) = app.create(&p).await;
    let path = format!("Patient/{id}");
    let params = json!({"resourceType": "Parameters", "parameter": [
        op("replace", "Patient.gender", vec![json!({"name": "value", "valueCode": "female"})]),
        op("add", "Patient.name[0]", vec![json!({"name": "name", "valueString": "given"}), json!({"name": "value", "valueString": "Two"})]),
        op("insert", "Patient.name", vec![json!({"name": "index", "valueInteger": 0}), json!({"name": "value", "valueHumanName": {"family": "Alias"}})]),
        op("delete", "Patient.telecom", vec![]),
    ]});
    let r = patch(&app, &path, "application/fhir+json", &params, None).await;
    assert_eq!(r.status(), 200);
    let now = read(&app, &path).await;
    assert_eq!(now["gender"], "female");
    assert_eq!(now["name"][0]["family"], "Alias");
    assert_eq!(now["name"][1]["given"], json!(["One", "Two"]));
    assert!(now.get("telecom").is_none());
    // A path outside the supported subset, or a result that is not valid R4: 422.
    let where_path = json!({"resourceType": "Parameters", "parameter": [
        op("delete", "Patient.name.where(family='Alias')", vec![])]});
    assert_outcome(
        patch(&app, &path, "application/fhir+json", &where_path, None).await,
        422,
    )
    .await;
    let invalid = json!({"resourceType": "Parameters", "parameter": [
        op("replace", "Patient.gender", vec![json!({"name": "value", "valueCode": "purple"})])]});
    assert_outcome(
        patch(&app, &path, "application/fhir+json", &invalid, None).await,
        422,
    )
    .await;
    assert_eq!(read(&app, &path).await["meta"]["versionId"], "2");
}
