//! Rule 2: contained resources are validated against their own declared type
//! (http://hl7.org/fhir/R4/references.html#contained); other embedded resources only need to
//! be objects with an R4 resourceType (the caller validates them on their own).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{assert_issue, assert_valid, check};
use fhirgate_validate::IssueCode;

const MED_REQ: &str = r##""resourceType":"MedicationRequest","status":"active","intent":"order","subject":{"reference":"Patient/1"},"medicationReference":{"reference":"#med"}"##;

fn med_req_with(contained: &str) -> String {
    format!(r#"{{{MED_REQ},"contained":[{contained}]}}"#)
}

#[test]
fn common_contained_types_validate() {
    for c in [
        r#"{"resourceType":"Medication","id":"med","code":{"text":"aspirin"}}"#,
        r#"{"resourceType":"Practitioner","id":"med","name":[{"family":"Who"}]}"#,
        r#"{"resourceType":"Organization","id":"med","name":"ACME"}"#,
        r#"{"resourceType":"Patient","id":"med","birthDate":"2000-02-29"}"#,
        r#"{"resourceType":"Substance","id":"med","code":{"text":"water"}}"#,
    ] {
        assert_valid(&med_req_with(c));
    }
}

#[test]
fn errors_inside_a_contained_resource_are_located_inside_it() {
    let body = med_req_with(
        r#"{"resourceType":"Medication","id":"med","code":{"text":1},"form":{"bogus":true}}"#,
    );
    assert_issue(
        &body,
        IssueCode::Structure,
        "MedicationRequest.contained[0].code.text",
    );
    assert_issue(
        &body,
        IssueCode::Structure,
        "MedicationRequest.contained[0].form.bogus",
    );
}

#[test]
fn contained_resources_get_their_own_required_date_and_string_rules() {
    let body = r#"{"resourceType":"Patient","contained":[{"resourceType":"Observation","id":"o"},{"resourceType":"Patient","id":"p","birthDate":"1900-02-29","name":[{"family":""}]}]}"#;
    assert_issue(body, IssueCode::Required, "Patient.contained[0].status");
    assert_issue(body, IssueCode::Required, "Patient.contained[0].code");
    assert_issue(body, IssueCode::Value, "Patient.contained[1].birthDate");
    assert_issue(
        body,
        IssueCode::Value,
        "Patient.contained[1].name[0].family",
    );
}

#[test]
fn unknown_missing_or_non_object_contained_resources_are_refused() {
    assert_issue(
        &med_req_with(r#"{"resourceType":"Medicament","id":"med"}"#),
        IssueCode::Value,
        "MedicationRequest.contained[0].resourceType",
    );
    assert_issue(
        &med_req_with(r#"{"id":"med"}"#),
        IssueCode::Required,
        "MedicationRequest.contained[0].resourceType",
    );
    assert_issue(
        &med_req_with(r#""Medication""#),
        IssueCode::Structure,
        "MedicationRequest.contained[0]",
    );
}

/// dom-2, dom-4 and dom-5 are invariants of the container (DomainResource), refused by
/// [`fhirgate_validate::Invariants`] (422), not by the schema validation (400).
#[test]
fn contained_resources_obey_the_domain_resource_invariants() {
    let invariants = fhirgate_validate::Invariants::load().unwrap();
    for (key, contained) in [
        (
            "dom-2",
            r#"{"resourceType":"Medication","id":"med","contained":[{"resourceType":"Substance","id":"s"}]}"#,
        ),
        (
            "dom-4",
            r#"{"resourceType":"Medication","id":"med","meta":{"versionId":"1"}}"#,
        ),
        (
            "dom-5",
            r#"{"resourceType":"Medication","id":"med","meta":{"security":[{"code":"R"}]}}"#,
        ),
    ] {
        let body = med_req_with(contained);
        assert_valid(&body);
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        let violations = invariants.check("MedicationRequest", &value);
        assert!(
            violations
                .iter()
                .any(|v| v.key == key && v.expression == "MedicationRequest"),
            "{key}: {violations:?}"
        );
    }
}

#[test]
fn bundle_entries_need_an_object_with_an_r4_resource_type() {
    let bundle = |entry: &str| {
        format!(
            r#"{{"resourceType":"Bundle","type":"collection","entry":[{{"fullUrl":"urn:uuid:4f5a8e1c-1111-4b7c-9d2e-0c1d2e3f4a5b","resource":{entry}}}]}}"#
        )
    };
    assert_valid(&bundle(r#"{"resourceType":"Patient"}"#));
    assert_issue(
        &bundle(r#"{"resourceType":"Patientt"}"#),
        IssueCode::Value,
        "Bundle.entry[0].resource.resourceType",
    );
    assert_issue(
        &bundle(r#"[]"#),
        IssueCode::Structure,
        "Bundle.entry[0].resource",
    );
    // The entry's own content is validated by the caller, resource by resource.
    assert_valid(&bundle(
        r#"{"resourceType":"Patient","birthDate":"1980-02-30"}"#,
    ));
}

#[test]
fn parameters_resources_need_an_object_with_an_r4_resource_type() {
    let params = |r: &str| {
        format!(r#"{{"resourceType":"Parameters","parameter":[{{"name":"p","resource":{r}}}]}}"#)
    };
    assert_valid(&params(r#"{"resourceType":"Patient"}"#));
    assert_issue(
        &params(r#"{"resourceType":"Nope"}"#),
        IssueCode::Value,
        "Parameters.parameter[0].resource.resourceType",
    );
    assert_issue(
        &params(r#"{"resourceType":"Patient"}"#).replace(r#""name":"p","#, ""),
        IssueCode::Required,
        "Parameters.parameter[0].name",
    );
}

#[test]
fn many_contained_resources_are_fast_enough() {
    let one = r#"{"resourceType":"Medication","id":"m","code":{"text":"x"}}"#;
    let body = med_req_with(&vec![one; 200].join(","));
    let start = std::time::Instant::now();
    check(&body).unwrap();
    assert!(start.elapsed().as_secs() < 5);
}
