//! The R4 invariants of the served types (ElementDefinition.constraint, generated from the R4
//! StructureDefinitions) and Reference target types (ElementDefinition.type.targetProfile):
//! a violation is 422 with issue code `invariant` (http.html#2.21.0.17: "the proposed resource
//! violated applicable FHIR profiles or server business rules"), the key and its human text in
//! `diagnostics`, the element in `expression`, no client value quoted. Each body is written from
//! the invariant's text in the R4 specification.

use crate::bundles::{bundle, post_bundle, post_entry};
use crate::helpers::*;
use serde_json::{json, Value};

/// Asserts a 422 whose only issue is `key` at `expression`, and that the client's values are
/// not quoted back (`secret` appears in each body).
async fn refused(resp: reqwest::Response, key: &str, expression: &str) {
    let oo = assert_outcome(resp, 422).await;
    let text = oo.to_string();
    assert!(!text.contains("secret"), "{text}");
    let issues = oo["issue"].as_array().unwrap();
    assert_eq!(issues.len(), 1, "{text}");
    assert_eq!(issues[0]["code"], "invariant", "{text}");
    let diagnostics = issues[0]["diagnostics"].as_str().unwrap();
    assert!(diagnostics.starts_with(&format!("{key}: ")), "{text}");
    assert_eq!(issues[0]["expression"], json!([expression]), "{text}");
}

fn observation(extra: Value) -> Value {
    let mut o = json!({"resourceType": "Observation", "status": "final",
                       "code": {"text": "secret glucose"}});
    for (k, v) in extra.as_object().unwrap() {
        o[k] = v.clone();
    }
    o
}

/// ref-1 (Reference): "SHALL have a contained resource if a local reference is provided".
#[tokio::test]
async fn ref_1_local_reference_without_contained_resource() {
    let app = spawn_app().await;
    let body = observation(json!({"subject": {"reference": "#secret"}}));
    refused(
        app.post_json("Observation", &body).await,
        "ref-1",
        "Observation.subject",
    )
    .await;
    let ok = observation(
        json!({"contained": [{"resourceType": "Patient", "id": "secret"}],
                                "subject": {"reference": "#secret"}}),
    );
    assert_eq!(app.post_json("Observation", &ok).await.status(), 201);
}

/// dom-3 (DomainResource): "If the resource is contained in another resource, it SHALL be
/// referred to from elsewhere in the resource or SHALL refer to the containing resource".
#[tokio::test]
async fn dom_3_contained_resource_nothing_references() {
    let app = spawn_app().await;
    let body = json!({"resourceType": "Patient", "name": [{"family": "secret"}],
                      "contained": [{"resourceType": "Practitioner", "id": "gp",
                                     "name": [{"family": "secret"}]}]});
    refused(app.post_json("Patient", &body).await, "dom-3", "Patient").await;
    let mut ok = body.clone();
    ok["generalPractitioner"] = json!([{"reference": "#gp"}]);
    assert_eq!(app.post_json("Patient", &ok).await.status(), 201);
}

/// qty-3 (Quantity): "If a code for the unit is present, the system SHALL also be present".
#[tokio::test]
async fn qty_3_unit_code_without_system() {
    let app = spawn_app().await;
    let body =
        observation(json!({"valueQuantity": {"value": 6.3, "unit": "secret", "code": "mmol/L"}}));
    refused(
        app.post_json("Observation", &body).await,
        "qty-3",
        "Observation.valueQuantity",
    )
    .await;
}

/// att-1 (Attachment): "If the Attachment has data, it SHALL have a contentType".
#[tokio::test]
async fn att_1_data_without_content_type() {
    let app = spawn_app().await;
    let body = json!({"resourceType": "Patient", "name": [{"family": "secret"}],
                      "photo": [{"data": "c2VjcmV0", "title": "secret"}]});
    refused(
        app.post_json("Patient", &body).await,
        "att-1",
        "Patient.photo[0]",
    )
    .await;
}

/// obs-3 (Observation.referenceRange): "Must have at least a low or a high or text".
#[tokio::test]
async fn obs_3_reference_range_without_low_high_or_text() {
    let app = spawn_app().await;
    let body = observation(json!({"valueQuantity": {"value": 6.3},
        "referenceRange": [{"type": {"text": "secret"}, "appliesTo": [{"text": "adults"}]}]}));
    refused(
        app.post_json("Observation", &body).await,
        "obs-3",
        "Observation.referenceRange[0]",
    )
    .await;
}

/// app-1 (Appointment.participant): "Either the type or actor on the participant SHALL be
/// specified".
#[tokio::test]
async fn app_1_participant_without_type_or_actor() {
    let app = spawn_app().await;
    let body = json!({"resourceType": "Appointment", "status": "proposed", "description": "secret",
                      "participant": [{"actor": {"reference": "Patient/p1"}, "status": "accepted"},
                                      {"required": "required", "status": "needs-action"}]});
    refused(
        app.post_json("Appointment", &body).await,
        "app-1",
        "Appointment.participant[1]",
    )
    .await;
}

/// Observation.subject is Reference(Patient | Group | Device | Location) in R4.
#[tokio::test]
async fn observation_subject_practitioner_is_refused() {
    let app = spawn_app().await;
    let body = observation(json!({"subject": {"reference": "Practitioner/secret"}}));
    refused(
        app.post_json("Observation", &body).await,
        "fhirgate-ref-1",
        "Observation.subject",
    )
    .await;
    let typed = observation(
        json!({"subject": {"type": "Practitioner", "display": "secret",
                                               "identifier": {"value": "secret"}}}),
    );
    refused(
        app.post_json("Observation", &typed).await,
        "fhirgate-ref-1",
        "Observation.subject",
    )
    .await;
    // Allowed targets stay allowed, served or not (Group, Device).
    for r in ["Patient/p1", "Group/g1", "Device/d1", "Location/l1"] {
        let ok = observation(json!({"subject": {"reference": r}}));
        assert_eq!(app.post_json("Observation", &ok).await.status(), 201, "{r}");
    }
}

/// In a transaction, `urn:uuid:` references become `Type/id` before validation
/// (http.html#trules), so the target type of a reference to an entry is checked too.
#[tokio::test]
async fn transaction_reference_to_an_entry_is_checked_after_rewriting() {
    let app = spawn_app().await;
    const DOC: &str = "urn:uuid:5d1f0a52-1d6e-4b8c-9a57-2c1f0e8d7b31";
    const OBS: &str = "urn:uuid:7c2e1b63-2e7f-4c9d-8b68-3d2f1f9e8c42";
    let practitioner = json!({"resourceType": "Practitioner", "name": [{"family": "secret"}]});
    let tx = bundle(
        "transaction",
        vec![
            post_entry(DOC, practitioner),
            post_entry(OBS, observation(json!({"subject": {"reference": DOC}}))),
        ],
    );
    let oo = assert_outcome(post_bundle(&app, &tx).await, 422).await;
    let text = oo.to_string();
    assert!(text.contains("fhirgate-ref-1"), "{text}");
    assert!(!text.contains("secret"), "{text}");
    let ok = bundle(
        "transaction",
        vec![
            post_entry(
                DOC,
                json!({"resourceType": "Patient", "name": [{"family": "secret"}]}),
            ),
            post_entry(OBS, observation(json!({"subject": {"reference": DOC}}))),
        ],
    );
    assert_eq!(post_bundle(&app, &ok).await.status(), 200);
}

/// dom-2, dom-4, dom-5 on a contained resource are invariants like the others: 422.
#[tokio::test]
async fn contained_resource_rules_are_invariants() {
    let app = spawn_app().await;
    let with = |c: Value| {
        json!({"resourceType": "Patient", "contained": [c],
                                 "generalPractitioner": [{"reference": "#gp"}]})
    };
    let cases = [
        (
            "dom-2",
            json!({"resourceType": "Practitioner", "id": "gp",
                         "contained": [{"resourceType": "Organization", "id": "o"}]}),
        ),
        (
            "dom-4",
            json!({"resourceType": "Practitioner", "id": "gp", "meta": {"versionId": "1"}}),
        ),
        (
            "dom-5",
            json!({"resourceType": "Practitioner", "id": "gp",
                         "meta": {"security": [{"code": "R"}]}}),
        ),
    ];
    for (key, c) in cases {
        let oo = assert_outcome(app.post_json("Patient", &with(c)).await, 422).await;
        assert!(
            oo["issue"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["code"] == "invariant"
                    && i["diagnostics"].as_str().unwrap().starts_with(key)),
            "{key}: {oo}"
        );
    }
}

/// json.html#choice: "Elements that have a choice of data type ... only one of the types may be
/// used in a single instance". Two of them is two values in a 0..1 element: the resource is not
/// readable as R4, so 400 with issue code `structure` (http.html#2.21.0.17: "400 Bad Request -
/// resource could not be parsed or failed basic FHIR validation rules"), also in `contained`.
#[tokio::test]
async fn two_types_of_one_choice_element_are_refused_400() {
    let app = spawn_app().await;
    let two = json!({"resourceType": "Patient", "deceasedBoolean": true,
                     "deceasedDateTime": "2020-01-01"});
    let oo = assert_outcome(app.post_json("Patient", &two).await, 400).await;
    assert_eq!(oo["issue"][0]["code"], "structure", "{oo}");
    let expr = oo["issue"][0]["expression"][0].as_str().unwrap();
    assert!(expr.starts_with("Patient.deceased"), "{oo}");
    // A value of one type and only the extensions (`_x`) of another is still two types.
    let ext = json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                     "valueString": "a",
                     "_valueBoolean": {"extension": [{"url": "http://example.org/x", "valueCode": "y"}]}});
    assert_outcome(app.post_json("Observation", &ext).await, 400).await;
    let contained = observation(json!({
        "contained": [{"resourceType": "Patient", "id": "p", "multipleBirthBoolean": true,
                       "multipleBirthInteger": 2}],
        "subject": {"reference": "#p"}}));
    let oo = assert_outcome(app.post_json("Observation", &contained).await, 400).await;
    assert_eq!(oo["issue"][0]["code"], "structure", "{oo}");
    // One type, with its own extensions, is fine.
    let one = json!({"resourceType": "Patient", "deceasedBoolean": true,
                     "_deceasedBoolean": {"extension": [{"url": "http://example.org/x", "valueCode": "y"}]}});
    assert_eq!(app.post_json("Patient", &one).await.status().as_u16(), 201);
}
