//! `_summary` and `_elements` (http://hl7.org/fhir/R4/search.html#summary, #elements).
//! Expectations come from the spec text and the R4 element flags as published on the resource
//! pages (Σ column, cardinality), not from the implementation's table.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use fhirgate_validate::{apply_elements, apply_summary, Summary};
use serde_json::{json, Value};

const SUBSETTED: &str = "SUBSETTED";
const V3_OBS_VALUE: &str = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue";

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

fn subsetted_tags(v: &Value) -> usize {
    v["meta"]["tag"].as_array().map_or(0, |tags| {
        tags.iter()
            .filter(|t| t["system"] == V3_OBS_VALUE && t["code"] == SUBSETTED)
            .count()
    })
}

fn patient() -> Value {
    json!({
        "resourceType": "Patient",
        "id": "p1",
        "meta": {"versionId": "3", "lastUpdated": "2024-01-01T00:00:00Z"},
        "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Jo</div>"},
        "extension": [{"url": "http://example.org/x", "valueString": "e"}],
        "modifierExtension": [{"url": "http://example.org/m", "valueBoolean": true}],
        "identifier": [{"system": "http://example.org/mrn", "value": "1"}],
        "name": [{"family": "Doe", "given": ["Jo"]}],
        "gender": "female",
        "birthDate": "1970-01-01",
        "_birthDate": {"extension": [{"url": "http://example.org/t", "valueTime": "10:00:00"}]},
        "deceasedBoolean": false,
        "maritalStatus": {"text": "married"},
        "photo": [{"contentType": "image/png", "data": "AAAA"}],
        "contact": [{"name": {"family": "Roe"}}],
        "communication": [{"language": {"text": "en"}}],
        "contained": [{"resourceType": "Organization", "id": "o", "name": "ACME"}],
        "managingOrganization": {"reference": "#o"}
    })
}

fn observation() -> Value {
    json!({
        "resourceType": "Observation",
        "id": "o1",
        "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">BP</div>"},
        "status": "final",
        "category": [{"text": "vital-signs"}],
        "code": {"text": "weight"},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2024-01-01",
        "valueQuantity": {"value": 70, "unit": "kg"},
        "interpretation": [{"text": "normal"}],
        "note": [{"text": "fasting"}]
    })
}

#[test]
fn parse_accepts_the_four_filter_values_only() {
    assert_eq!(Summary::parse("true"), Some(Summary::True));
    assert_eq!(Summary::parse("text"), Some(Summary::Text));
    assert_eq!(Summary::parse("data"), Some(Summary::Data));
    assert_eq!(Summary::parse("false"), Some(Summary::False));
    for other in ["count", "TRUE", "", " true", "yes"] {
        assert_eq!(Summary::parse(other), None, "{other}");
    }
}

#[test]
fn summary_true_on_patient_keeps_summary_elements() {
    let mut p = patient();
    assert!(apply_summary("Patient", &mut p, Summary::True));
    // Σ on patient.html: identifier, name, gender, birthDate, deceased[x], managingOrganization;
    // id and meta are Σ on Resource. modifierExtension stays (modifier, see summary.rs).
    assert_eq!(
        keys(&p),
        [
            "resourceType",
            "id",
            "meta",
            "modifierExtension",
            "identifier",
            "name",
            "gender",
            "birthDate",
            "_birthDate",
            "deceasedBoolean",
            "managingOrganization"
        ]
    );
    assert_eq!(p["meta"]["versionId"], "3");
    assert_eq!(subsetted_tags(&p), 1);
}

#[test]
fn summary_true_keeps_kept_elements_whole() {
    let mut p = patient();
    apply_summary("Patient", &mut p, Summary::True);
    assert_eq!(p["name"], json!([{"family": "Doe", "given": ["Jo"]}]));
}

#[test]
fn summary_text_keeps_text_id_meta_and_mandatory() {
    let mut p = patient();
    assert!(apply_summary("Patient", &mut p, Summary::Text));
    // Patient has no mandatory top-level element.
    assert_eq!(keys(&p), ["resourceType", "id", "meta", "text"]);
    assert_eq!(subsetted_tags(&p), 1);

    let mut o = observation();
    assert!(apply_summary("Observation", &mut o, Summary::Text));
    // Observation.status and Observation.code are 1..1; meta is created to carry the tag.
    assert_eq!(
        keys(&o),
        ["resourceType", "id", "meta", "text", "status", "code"]
    );
}

#[test]
fn summary_data_removes_only_text() {
    let mut p = patient();
    let mut expected = patient();
    expected.as_object_mut().unwrap().remove("text");
    assert!(apply_summary("Patient", &mut p, Summary::Data));
    assert_eq!(subsetted_tags(&p), 1);
    p["meta"].as_object_mut().unwrap().remove("tag");
    assert_eq!(p, expected);
}

#[test]
fn nothing_removed_means_no_tag() {
    let mut p = json!({"resourceType": "Patient", "id": "p", "name": [{"family": "Doe"}]});
    let before = p.clone();
    assert!(!apply_summary("Patient", &mut p, Summary::True));
    assert!(!apply_summary("Patient", &mut p, Summary::Data));
    assert!(!apply_summary("Patient", &mut p, Summary::False));
    assert!(!apply_elements("Patient", &mut p, &["name"]));
    assert_eq!(p, before);

    let mut full = patient();
    assert!(!apply_summary("Patient", &mut full, Summary::False));
    assert_eq!(full, patient());
}

#[test]
fn tag_is_added_once_and_other_tags_stay() {
    let mut p = patient();
    p["meta"]["tag"] = json!([{"system": "http://example.org/t", "code": "a"}]);
    apply_summary("Patient", &mut p, Summary::Data);
    apply_summary("Patient", &mut p, Summary::True);
    assert_eq!(subsetted_tags(&p), 1);
    assert_eq!(p["meta"]["tag"][0]["code"], "a");
}

#[test]
fn new_meta_goes_after_id() {
    let mut o = observation();
    apply_summary("Observation", &mut o, Summary::True);
    assert_eq!(keys(&o)[..3], ["resourceType", "id", "meta"]);
    let mut no_id = json!({"resourceType": "Observation", "status": "final",
        "code": {"text": "x"}, "note": [{"text": "n"}]});
    apply_summary("Observation", &mut no_id, Summary::True);
    assert_eq!(keys(&no_id), ["resourceType", "meta", "status", "code"]);
}

#[test]
fn summary_true_on_observation() {
    let mut o = observation();
    assert!(apply_summary("Observation", &mut o, Summary::True));
    // observation.html: category, interpretation and note are not Σ; value[x] is.
    assert_eq!(
        keys(&o),
        [
            "resourceType",
            "id",
            "meta",
            "status",
            "code",
            "subject",
            "effectiveDateTime",
            "valueQuantity"
        ]
    );
}

#[test]
fn summary_true_on_medication_request() {
    let mut m = json!({
        "resourceType": "MedicationRequest",
        "identifier": [{"value": "rx1"}],
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"text": "aspirin"},
        "subject": {"reference": "Patient/p1"},
        "encounter": {"reference": "Encounter/e1"},
        "authoredOn": "2024-01-01",
        "dosageInstruction": [{"text": "daily"}]
    });
    assert!(apply_summary("MedicationRequest", &mut m, Summary::True));
    // medicationrequest.html: identifier, encounter and dosageInstruction are not Σ in R4.
    assert_eq!(
        keys(&m),
        [
            "resourceType",
            "meta",
            "status",
            "intent",
            "medicationCodeableConcept",
            "subject",
            "authoredOn"
        ]
    );
}

#[test]
fn mandatory_but_not_summary_elements() {
    // appointment.html: participant is 1..* without Σ; auditevent.html: agent 1..* and
    // source 1..1 without Σ. `true` follows the flags; `text` keeps mandatory elements.
    let appointment = json!({
        "resourceType": "Appointment",
        "status": "booked",
        "description": "checkup",
        "start": "2024-01-01T10:00:00Z",
        "end": "2024-01-01T10:30:00Z",
        "participant": [{"actor": {"reference": "Patient/p1"}, "status": "accepted"}]
    });
    let mut a = appointment.clone();
    apply_summary("Appointment", &mut a, Summary::True);
    assert_eq!(keys(&a), ["resourceType", "meta", "status", "start", "end"]);
    let mut a = appointment;
    apply_summary("Appointment", &mut a, Summary::Text);
    assert_eq!(keys(&a), ["resourceType", "meta", "status", "participant"]);

    let mut e = json!({
        "resourceType": "AuditEvent",
        "type": {"code": "rest"},
        "period": {"start": "2024-01-01"},
        "recorded": "2024-01-01T00:00:00Z",
        "agent": [{"requestor": true}],
        "source": {"observer": {"display": "gw"}},
        "entity": [{"what": {"reference": "Patient/p1"}}]
    });
    let mut t = e.clone();
    apply_summary("AuditEvent", &mut t, Summary::Text);
    assert_eq!(
        keys(&t),
        [
            "resourceType",
            "meta",
            "type",
            "recorded",
            "agent",
            "source"
        ]
    );
    apply_summary("AuditEvent", &mut e, Summary::True);
    assert_eq!(keys(&e), ["resourceType", "meta", "type", "recorded"]);
}

#[test]
fn elements_keep_named_and_mandatory() {
    let mut o = observation();
    // Observation has no `name`: only resourceType, id, meta and the 1..1 status and code.
    assert!(apply_elements("Observation", &mut o, &["name"]));
    assert_eq!(keys(&o), ["resourceType", "id", "meta", "status", "code"]);
    assert_eq!(subsetted_tags(&o), 1);

    let mut p = patient();
    assert!(apply_elements("Patient", &mut p, &["birthDate", "text"]));
    assert_eq!(
        keys(&p),
        [
            "resourceType",
            "id",
            "meta",
            "text",
            "birthDate",
            "_birthDate"
        ]
    );
}

#[test]
fn elements_name_a_choice_by_its_base_name() {
    let mut o = observation();
    apply_elements("Observation", &mut o, &["value", "effective"]);
    assert_eq!(
        keys(&o),
        [
            "resourceType",
            "id",
            "meta",
            "status",
            "code",
            "effectiveDateTime",
            "valueQuantity"
        ]
    );

    let mut s = json!({"resourceType": "Observation", "status": "final", "code": {"text": "c"},
        "valueString": "x", "_valueString": {"id": "v"}, "note": [{"text": "n"}]});
    apply_elements("Observation", &mut s, &["value"]);
    assert_eq!(
        keys(&s),
        [
            "resourceType",
            "meta",
            "status",
            "code",
            "valueString",
            "_valueString"
        ]
    );

    // The property name of one choice type also works, for that type only.
    let mut q = observation();
    apply_elements("Observation", &mut q, &["valueQuantity", "effectiveString"]);
    assert!(q.get("valueQuantity").is_some());
    assert!(q.get("effectiveDateTime").is_none());
}

#[test]
fn elements_ignore_unknown_names_and_trim() {
    let mut p = patient();
    apply_elements(
        "Patient",
        &mut p,
        &["", "nosuch", "name.family", " gender ", "resourceType"],
    );
    assert_eq!(keys(&p), ["resourceType", "id", "meta", "gender"]);
}

#[test]
fn bundle_and_operation_outcome() {
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 1,
        "entry": [{"resource": {"resourceType": "Patient", "id": "p1", "photo": [{"data": "AAAA"}]}}]
    });
    // Every top-level Bundle element is Σ in R4: nothing to remove, entries untouched.
    let mut b = bundle.clone();
    assert!(!apply_summary("Bundle", &mut b, Summary::True));
    assert_eq!(b, bundle);
    let mut b = bundle;
    assert!(apply_summary("Bundle", &mut b, Summary::Text));
    assert_eq!(keys(&b), ["resourceType", "meta", "type"]);

    let mut oo = json!({
        "resourceType": "OperationOutcome",
        "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},
        "issue": [{"severity": "error", "code": "invalid"}]
    });
    assert!(apply_summary("OperationOutcome", &mut oo, Summary::True));
    assert_eq!(keys(&oo), ["resourceType", "meta", "issue"]);
}

#[test]
fn types_outside_the_table_and_non_objects() {
    let encounter = json!({"resourceType": "Encounter", "status": "finished",
        "class": {"code": "AMB"}, "text": {"status": "empty", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">-</div>"}});
    for mode in [Summary::True, Summary::Text] {
        let mut e = encounter.clone();
        assert!(!apply_summary("Encounter", &mut e, mode));
        assert_eq!(e, encounter);
    }
    let mut e = encounter.clone();
    assert!(!apply_elements("Encounter", &mut e, &["status"]));
    assert_eq!(e, encounter);
    // `data` needs no definitions.
    assert!(apply_summary("Encounter", &mut e, Summary::Data));
    assert!(e.get("text").is_none());

    let mut not_object = json!(["Patient"]);
    assert!(!apply_summary("Patient", &mut not_object, Summary::True));
    assert!(!apply_elements("Patient", &mut not_object, &["name"]));
}

#[test]
fn filtered_resources_still_validate() {
    // Every mandatory Observation/Patient element survives `true`, `text` and `_elements`,
    // and the SUBSETTED tag is a valid Coding.
    for (t, base) in [("Patient", patient()), ("Observation", observation())] {
        for mode in [Summary::True, Summary::Text, Summary::Data] {
            let mut v = base.clone();
            apply_summary(t, &mut v, mode);
            let text = serde_json::to_string(&v).unwrap();
            common::assert_valid(&text);
        }
        let mut v = base.clone();
        apply_elements(t, &mut v, &["identifier"]);
        common::assert_valid(&serde_json::to_string(&v).unwrap());
    }
}
