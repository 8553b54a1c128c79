//! Rule 1 (the R4 JSON Schema), rule 5 (resourceType) and rule 6 (issue locations).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{assert_issue, assert_valid, check, validator};
use fhirgate_validate::{is_valid_id, parse_json, IssueCode, Validator, MAX_ISSUES};
use serde_json::json;

#[test]
fn minimal_resources_are_valid() {
    assert_valid(r#"{"resourceType":"Patient"}"#);
    assert_valid(r#"{"resourceType":"Observation","status":"final","code":{"text":"Heart rate"}}"#);
}

#[test]
fn unknown_elements_are_structure_issues_located_at_the_element() {
    assert_issue(
        r#"{"resourceType":"Patient","foo":1}"#,
        IssueCode::Structure,
        "Patient.foo",
    );
    assert_issue(
        r#"{"resourceType":"Patient","name":[{"family":"X","Given":["a"]}]}"#,
        IssueCode::Structure,
        "Patient.name[0].Given",
    );
    // Element names are case-sensitive (json.html).
    assert_issue(
        r#"{"resourceType":"Patient","BirthDate":"2000"}"#,
        IssueCode::Structure,
        "Patient.BirthDate",
    );
}

#[test]
fn wrong_json_types_are_structure_issues() {
    assert_issue(
        r#"{"resourceType":"Patient","active":"true"}"#,
        IssueCode::Structure,
        "Patient.active",
    );
    // Repeating elements are arrays even with one value (json.html).
    assert_issue(
        r#"{"resourceType":"Patient","name":{"family":"X"}}"#,
        IssueCode::Structure,
        "Patient.name",
    );
    assert_issue(
        r#"{"resourceType":"Patient","birthDate":19800101}"#,
        IssueCode::Structure,
        "Patient.birthDate",
    );
    let issues = assert_issue(
        r#"{"resourceType":"Patient","name":[{"given":["Ann",5]}]}"#,
        IssueCode::Structure,
        "Patient.name[0].given[1]",
    );
    assert!(
        issues[0].diagnostics.contains("expected string"),
        "{issues:?}"
    );
    // Numbers are JSON numbers, not strings (json.html#primitive).
    assert_issue(
        r#"{"resourceType":"Patient","multipleBirthInteger":"2"}"#,
        IssueCode::Structure,
        "Patient.multipleBirthInteger",
    );
}

#[test]
fn primitive_regexes_are_value_issues() {
    assert_issue(
        r#"{"resourceType":"Patient","id":"a b"}"#,
        IssueCode::Value,
        "Patient.id",
    );
    assert_issue(
        r#"{"resourceType":"Patient","birthDate":"1980/01/01"}"#,
        IssueCode::Value,
        "Patient.birthDate",
    );
    assert_issue(
        r#"{"resourceType":"Patient","telecom":[{"system":"email","value":"a@b.c","period":{"start":"yesterday"}}]}"#,
        IssueCode::Value,
        "Patient.telecom[0].period.start",
    );
    // code: no leading or trailing whitespace (datatypes.html#code).
    assert_issue(
        r#"{"resourceType":"Patient","communication":[{"language":{"coding":[{"code":" en"}]}}]}"#,
        IssueCode::Value,
        "Patient.communication[0].language.coding[0].code",
    );
    assert_issue(
        r#"{"resourceType":"Patient","extension":[{"url":"http://x.org/e","valueCode":"a  b"}]}"#,
        IssueCode::Value,
        "Patient.extension[0].valueCode",
    );
    // uri: no whitespace.
    let issues = assert_issue(
        r#"{"resourceType":"Patient","identifier":[{"system":"http://x.org/a b","value":"1"}]}"#,
        IssueCode::Value,
        "Patient.identifier[0].system",
    );
    assert!(issues[0].diagnostics.contains("'uri'"), "{issues:?}");
}

#[test]
fn required_value_set_codes_are_checked() {
    let issues = assert_issue(
        r#"{"resourceType":"Patient","gender":"M"}"#,
        IssueCode::Value,
        "Patient.gender",
    );
    assert!(issues[0].diagnostics.contains("female"), "{issues:?}");
}

#[test]
fn missing_required_elements_are_required_issues_at_the_missing_element() {
    // Observation.code and Observation.status are 1..1 (observation.html).
    let issues = check(r#"{"resourceType":"Observation"}"#).unwrap_err();
    let mut at: Vec<_> = issues
        .iter()
        .filter(|i| i.code == IssueCode::Required)
        .filter_map(|i| i.expression.clone())
        .collect();
    at.sort();
    assert_eq!(
        at,
        ["Observation.code", "Observation.status"],
        "{issues:#?}"
    );
    assert_issue(
        r#"{"resourceType":"Observation","status":"final"}"#,
        IssueCode::Required,
        "Observation.code",
    );
    assert_issue(
        r#"{"resourceType":"Observation","code":{"text":"x"}}"#,
        IssueCode::Required,
        "Observation.status",
    );
    // Extension.url is 1..1, Narrative.status and Narrative.div too.
    assert_issue(
        r#"{"resourceType":"Patient","extension":[{"valueString":"x"}]}"#,
        IssueCode::Required,
        "Patient.extension[0].url",
    );
    assert_issue(
        r#"{"resourceType":"Patient","text":{"div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"}}"#,
        IssueCode::Required,
        "Patient.text.status",
    );
    assert_issue(
        r#"{"resourceType":"Patient","text":{"status":"generated"}}"#,
        IssueCode::Required,
        "Patient.text.div",
    );
    // AuditEvent: type, recorded, agent and source are all 1..1 or 1..*.
    let issues = check(r#"{"resourceType":"AuditEvent"}"#).unwrap_err();
    for e in [
        "AuditEvent.type",
        "AuditEvent.recorded",
        "AuditEvent.agent",
        "AuditEvent.source",
    ] {
        assert!(
            issues
                .iter()
                .any(|i| i.code == IssueCode::Required && i.expression.as_deref() == Some(e)),
            "{e}: {issues:#?}"
        );
    }
}

#[test]
fn a_required_choice_element_needs_one_of_its_types() {
    // MedicationRequest.medication[x] is 1..1 (medicationrequest.html).
    let base = r#""resourceType":"MedicationRequest","status":"active","intent":"order","subject":{"reference":"Patient/1"}"#;
    let issues = assert_issue(
        &format!("{{{base}}}"),
        IssueCode::Required,
        "MedicationRequest.medication",
    );
    assert!(
        issues[0].diagnostics.contains("medication[x]"),
        "{issues:?}"
    );
    assert_valid(&format!(
        r#"{{{base},"medicationReference":{{"reference":"Medication/1"}}}}"#
    ));
    assert_valid(&format!(
        r#"{{{base},"medicationCodeableConcept":{{"text":"aspirin"}}}}"#
    ));
}

#[test]
fn a_required_primitive_may_be_present_as_extensions_only() {
    // json.html#primitive: "_status" with an extension stands for a status with no value.
    assert_valid(
        r#"{"resourceType":"Observation","code":{"text":"x"},
            "_status":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/data-absent-reason","valueCode":"unknown"}]}}"#,
    );
}

#[test]
fn integer_types_are_whole_32_bit_numbers_in_range() {
    let p = |field: &str, v: &str| format!(r#"{{"resourceType":"Patient","{field}":{v}}}"#);
    assert_valid(&p("multipleBirthInteger", "2"));
    assert_valid(&p("multipleBirthInteger", "-2147483648"));
    for bad in ["1.5", "1.0", "1e2", "2147483648", "-2147483649"] {
        assert_issue(
            &p("multipleBirthInteger", bad),
            IssueCode::Value,
            "Patient.multipleBirthInteger",
        );
    }
    // positiveInt >= 1: Appointment.minutesDuration; unsignedInt >= 0: Attachment.size.
    let appt = |m: &str| {
        format!(
            r#"{{"resourceType":"Appointment","status":"proposed","minutesDuration":{m},"participant":[{{"status":"accepted","actor":{{"display":"Dr X"}}}}]}}"#
        )
    };
    assert_valid(&appt("1"));
    assert_issue(&appt("0"), IssueCode::Value, "Appointment.minutesDuration");
    let photo = |s: &str| {
        format!(
            r#"{{"resourceType":"Patient","photo":[{{"contentType":"image/png","size":{s}}}]}}"#
        )
    };
    assert_valid(&photo("0"));
    assert_issue(&photo("-1"), IssueCode::Value, "Patient.photo[0].size");
}

#[test]
fn decimals_accept_any_json_number() {
    assert_valid(
        r#"{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1.50e-3}}"#,
    );
}

#[test]
fn resource_type_must_be_present_and_match() {
    let v = validator();
    let obs = parse_json(br#"{"resourceType":"Observation","status":"final","code":{"text":"x"}}"#)
        .unwrap();
    let issues = v.validate("Patient", &obs).unwrap_err();
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].code, IssueCode::Invalid);
    assert_eq!(issues[0].expression.as_deref(), Some("resourceType"));
    let issues = v.validate("Patient", &json!({"active": true})).unwrap_err();
    assert_eq!(
        (issues[0].code, issues[0].expression.as_deref()),
        (IssueCode::Invalid, Some("resourceType"))
    );
    let issues = v
        .validate("Patient", &json!({"resourceType": 1}))
        .unwrap_err();
    assert_eq!(issues[0].expression.as_deref(), Some("resourceType"));
    let issues = v.validate("Patient", &json!([])).unwrap_err();
    assert_eq!(issues[0].code, IssueCode::Structure);
}

#[test]
fn unknown_resource_types_are_not_supported() {
    let issues = validator()
        .validate("Foo", &json!({"resourceType": "Foo"}))
        .unwrap_err();
    assert_eq!(issues[0].code, IssueCode::NotSupported);
    assert!(Validator::new(&["Patient", "Foo"]).is_err());
}

#[test]
fn other_r4_types_can_be_validated_too() {
    assert_valid(r#"{"resourceType":"Medication","code":{"text":"aspirin"}}"#);
    assert_issue(
        r#"{"resourceType":"Organization","nmae":"x"}"#,
        IssueCode::Structure,
        "Organization.nmae",
    );
}

#[test]
fn only_r4_resource_types_and_elements_are_accepted() {
    // schemas/fhir.schema.json carries a vendor's non-R4 types and elements; R4 has none of them.
    let issues = validator()
        .validate("Project", &json!({"resourceType": "Project"}))
        .unwrap_err();
    assert_eq!(issues[0].code, IssueCode::NotSupported);
    assert!(Validator::new(&["Bot"]).is_err());
    assert_issue(
        r#"{"resourceType":"Patient","contained":[{"resourceType":"Login","id":"l"}]}"#,
        IssueCode::Value,
        "Patient.contained[0].resourceType",
    );
    assert_issue(
        r#"{"resourceType":"Patient","meta":{"project":"p"}}"#,
        IssueCode::Structure,
        "Patient.meta.project",
    );
    assert_issue(
        r#"{"resourceType":"Patient","managingOrganization":{"resource":{"resourceType":"Organization"}}}"#,
        IssueCode::Structure,
        "Patient.managingOrganization.resource",
    );
    assert_issue(
        r#"{"resourceType":"OperationOutcome","status":400,"issue":[{"severity":"error","code":"invalid"}]}"#,
        IssueCode::Structure,
        "OperationOutcome.status",
    );
    assert!(validator().is_resource_type("VisionPrescription"));
    assert!(!validator().is_resource_type("AccessPolicy"));
}

#[test]
fn issues_are_capped() {
    let mut body = String::from(r#"{"resourceType":"Patient""#);
    for i in 0..200 {
        body.push_str(&format!(r#","unknown{i}":1"#));
    }
    body.push('}');
    let issues = check(&body).unwrap_err();
    assert_eq!(issues.len(), MAX_ISSUES);
    assert_eq!(issues.last().unwrap().code, IssueCode::TooCostly);
}

#[test]
fn diagnostics_never_echo_client_values() {
    let secret = "SECRET-HIV-POSITIVE";
    let body = format!(
        r#"{{"resourceType":"Patient","birthDate":"{secret}","gender":"{secret}","active":"{secret}","id":"{secret} x","name":[{{"family":""}}],"deceasedDateTime":"{secret}"}}"#
    );
    let issues = check(&body).unwrap_err();
    assert!(issues.len() >= 5, "{issues:#?}");
    for i in &issues {
        assert!(!i.diagnostics.contains("SECRET"), "{i:?}");
    }
}

#[test]
fn unknown_element_names_are_bounded_in_the_expression() {
    let long = "x".repeat(1000);
    let issues = check(&format!(r#"{{"resourceType":"Patient","{long}":1}}"#)).unwrap_err();
    let e = issues[0].expression.as_deref().unwrap();
    assert!(e.starts_with("Patient.") && e.chars().count() < 80, "{e}");
}

#[test]
fn issue_codes_are_the_fhir_codes() {
    let all = [
        (IssueCode::Structure, "structure"),
        (IssueCode::Invalid, "invalid"),
        (IssueCode::Value, "value"),
        (IssueCode::Required, "required"),
        (IssueCode::TooLong, "too-long"),
        (IssueCode::NotSupported, "not-supported"),
        (IssueCode::TooCostly, "too-costly"),
    ];
    for (code, text) in all {
        assert_eq!(code.as_str(), text);
    }
}

#[test]
fn ids_follow_the_fhir_id_rule() {
    for ok in ["a", "A-1.b", "123", &"x".repeat(64)] {
        assert!(is_valid_id(ok), "{ok}");
    }
    for bad in ["", "a b", "a_b", "a/b", "é", &"x".repeat(65)] {
        assert!(!is_valid_id(bad), "{bad}");
    }
}

#[test]
fn deeply_nested_extensions_validate_without_overflowing_the_stack() {
    // 49 nested extensions reach nesting level 99 (root object, then an array and an object per
    // extension), just under parse_json's limit of 100.
    let mut body = String::from(r#"{"resourceType":"Patient","extension":"#);
    for _ in 0..48 {
        body.push_str(r#"[{"url":"http://x.org/e","extension":"#);
    }
    body.push_str(r#"[{"url":"http://x.org/e","valueDate":"2020-02-30"}]"#);
    body.push_str(&"}]".repeat(48));
    body.push('}');
    let issues = check(&body).unwrap_err();
    assert_eq!(issues.len(), 1, "{issues:#?}");
    assert_eq!(issues[0].code, IssueCode::Value);
    assert!(issues[0]
        .expression
        .as_deref()
        .unwrap()
        .ends_with("extension[0].valueDate"));
}

#[test]
fn validator_can_be_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Validator>();
}
