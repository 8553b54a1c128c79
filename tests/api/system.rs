use crate::helpers::*;
use serde_json::Value;

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(app.get("/readyz").await.status(), 200);
}

/// http://hl7.org/fhir/R4/http.html#capabilities: GET [base]/metadata returns a
/// CapabilityStatement; it states what is implemented and nothing more.
#[tokio::test]
async fn capability_statement_states_what_exists() {
    let app = spawn_app().await;
    let resp = app.get("metadata").await;
    assert_eq!(resp.status(), 200);
    let cs: Value = resp.json().await.unwrap();
    assert_eq!(cs["resourceType"], "CapabilityStatement");
    assert_eq!(cs["fhirVersion"], "4.0.1");
    assert_eq!(cs["kind"], "instance");
    let resources = cs["rest"][0]["resource"].as_array().unwrap();
    let types: Vec<&str> = resources
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "Appointment",
            "AuditEvent",
            "MedicationRequest",
            "Observation",
            "Patient",
            "Practitioner"
        ]
    );
    let audit = resources
        .iter()
        .find(|r| r["type"] == "AuditEvent")
        .unwrap();
    let codes: Vec<&str> = audit["interaction"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["read", "search-type"]);
    let patient = resources.iter().find(|r| r["type"] == "Patient").unwrap();
    let params: Vec<&str> = patient["searchParam"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        params.contains(&"identifier")
            && params.contains(&"family")
            && params.contains(&"birthdate")
    );
    // Issue #3: every R4 parameter of the type that has an expression (from the
    // official definitions), and nothing else (_text, _content, _query have none),
    // besides the ones the gateway defines itself (issue #5: Observation
    // interpretation), which are listed in their own file.
    let mut defs: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/fhir-r4/search-parameters.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let ours: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/schemas/search-parameters-fhirgate.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let extra = ours["entry"].as_array().unwrap().clone();
    assert!(extra
        .iter()
        .any(|e| e["resource"]["code"] == "interpretation"));
    defs["entry"].as_array_mut().unwrap().extend(extra);
    for t in [
        "Patient",
        "Observation",
        "Appointment",
        "MedicationRequest",
        "Practitioner",
    ] {
        let mut want: Vec<String> = defs["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["resource"])
            .filter(|r| r["expression"].is_string())
            .filter(|r| {
                r["base"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|b| b == t || b == "Resource" || b == "DomainResource")
            })
            .map(|r| r["code"].as_str().unwrap().to_owned())
            .collect();
        want.sort();
        want.dedup();
        let res = resources.iter().find(|r| r["type"] == t).unwrap();
        let mut got: Vec<String> = res["searchParam"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect();
        got.sort();
        assert_eq!(got, want, "{t}");
        assert!(res["searchInclude"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i == "*"));
    }
    for p in patient["searchParam"].as_array().unwrap() {
        assert!(p["definition"]
            .as_str()
            .unwrap()
            .starts_with("http://hl7.org/fhir/SearchParameter/"));
    }
}

#[tokio::test]
async fn unknown_paths_types_and_methods() {
    let app = spawn_app().await;
    assert_outcome(app.get("/nowhere").await, 404).await;
    // An unsupported resource type is 404 (http.html#2.21.0.17).
    assert_outcome(app.get("Encounter/1").await, 404).await;
    // POST on an instance is no interaction (http.html#summary): 405.
    assert_outcome(
        app.client.post(app.url("Patient/1")).send().await.unwrap(),
        405,
    )
    .await;
    // AuditEvents are read and searched, never written by clients.
    assert_outcome(
        app.post_json(
            "AuditEvent",
            &serde_json::json!({"resourceType": "AuditEvent"}),
        )
        .await,
        405,
    )
    .await;
}
