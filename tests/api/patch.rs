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

fn fhirpath(ops: Vec<Value>) -> Value {
    json!({"resourceType": "Parameters", "parameter": ops})
}

/// fhirpatch.html names elements by FHIRPath, where a choice element is named without its
/// type (fhirpath.html 2.9.1.1: Patient.deceased[x] "labeled according to the name without
/// the '[x]' suffix"); in JSON the element is named by the value's type (json.html#choice).
/// "Add can used for non-repeating elements as long as they do not already exist"; replace
/// takes "Path of the element to replace" and delete "Path of the element to delete (if
/// found)"; "Servers SHALL return an error if the type is wrong".
#[tokio::test]
async fn fhirpath_patch_choice_elements() {
    let app = spawn_app().await;
    let mut p = patient("Choice", "CH-1");
    p["deceasedDateTime"] = json!("2020-01-02T03:04:05Z");
    p["_deceasedDateTime"] = json!({"extension": [
        {"url": "http://example.org/fhir/StructureDefinition/note", "valueString": "approx"}]});
    let (id, _) = app.create(&p).await;
    let path = format!("Patient/{id}");
    let send = |ops: Vec<Value>| {
        let (app, path) = (&app, &path);
        async move { patch(app, path, "application/fhir+json", &fhirpath(ops), None).await }
    };
    let add_deceased = |v: Value| {
        op(
            "add",
            "Patient",
            vec![
                json!({"name": "name", "valueString": "deceased"}),
                json!({"name": "value", "valueBoolean": v}),
            ],
        )
    };
    // deceased is present (as deceasedDateTime): add does not overwrite it.
    assert_outcome(send(vec![add_deceased(json!(true))]).await, 422).await;
    // replace Patient.deceased: the boolean replaces the dateTime and its extensions.
    let r = send(vec![op(
        "replace",
        "Patient.deceased",
        vec![json!({"name": "value", "valueBoolean": false})],
    )])
    .await;
    assert_eq!(r.status(), 200);
    let now = read(&app, &path).await;
    assert_eq!(now["deceasedBoolean"], false);
    for gone in ["deceasedDateTime", "_deceasedDateTime", "deceased"] {
        assert!(now.get(gone).is_none(), "{gone}: {now}");
    }
    // A type deceased[x] does not allow (boolean | dateTime): error, nothing changes.
    assert_outcome(
        send(vec![op(
            "replace",
            "Patient.deceased",
            vec![json!({"name": "value", "valueString": "yes"})],
        )])
        .await,
        422,
    )
    .await;
    // delete Patient.deceased removes whichever deceased[x] there is; then add sets it.
    assert_eq!(
        send(vec![op("delete", "Patient.deceased", vec![])])
            .await
            .status(),
        200
    );
    assert!(read(&app, &path).await.get("deceasedBoolean").is_none());
    assert_eq!(send(vec![add_deceased(json!(true))]).await.status(), 200);
    let now = read(&app, &path).await;
    assert_eq!(now["deceasedBoolean"], true);
    assert!(now.get("deceased").is_none(), "{now}");
    assert_eq!(now["meta"]["versionId"], "4");
    // add on an absent repeating element makes a list of one.
    let r = send(vec![op(
        "add",
        "Patient",
        vec![
            json!({"name": "name", "valueString": "generalPractitioner"}),
            json!({"name": "value", "valueReference": {"reference": "Practitioner/gp1"}}),
        ],
    )])
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        read(&app, &path).await["generalPractitioner"],
        json!([{"reference": "Practitioner/gp1"}])
    );
}

/// A list of primitives with extensions is two JSON arrays, `given` and `_given`, where
/// json.html#primitive has "null values ... fill out both arrays so that the id and/or
/// extension are aligned with the matching value"; insert, move, add and delete keep them
/// aligned, so the result stays a valid resource (fhirpatch.html).
#[tokio::test]
async fn fhirpath_patch_keeps_primitive_extensions_aligned() {
    let app = spawn_app().await;
    let ext = json!({"extension": [
        {"url": "http://example.org/fhir/StructureDefinition/origin", "valueString": "chart"}]});
    let mut p = patient("Aligned", "AL-1");
    p["name"][0]["_given"] = json!([null, ext]);
    let (id, _) = app.create(&p).await;
    let path = format!("Patient/{id}");
    let given = "Patient.name[0].given";
    let ops = vec![
        op(
            "insert",
            given,
            vec![
                json!({"name": "index", "valueInteger": 0}),
                json!({"name": "value", "valueString": "Zoe"}),
            ],
        ),
        op(
            "move",
            given,
            vec![
                json!({"name": "source", "valueInteger": 2}),
                json!({"name": "destination", "valueInteger": 0}),
            ],
        ),
        op(
            "add",
            "Patient.name[0]",
            vec![
                json!({"name": "name", "valueString": "given"}),
                json!({"name": "value", "valueString": "Last"}),
            ],
        ),
    ];
    let r = patch(&app, &path, "application/fhir+json", &fhirpath(ops), None).await;
    assert_eq!(r.status(), 200);
    let name = &read(&app, &path).await["name"][0];
    assert_eq!(name["given"], json!(["Marie", "Zoe", "Ada", "Last"]));
    assert_eq!(name["_given"], json!([ext, null, null, null]));
    // Deleting the one value with an extension leaves no `_given` behind.
    let del = fhirpath(vec![op("delete", "Patient.name[0].given[0]", vec![])]);
    let r = patch(&app, &path, "application/fhir+json", &del, None).await;
    assert_eq!(r.status(), 200);
    let name = &read(&app, &path).await["name"][0];
    assert_eq!(name["given"], json!(["Zoe", "Ada", "Last"]));
    assert!(name.get("_given").is_none(), "{name}");
}
