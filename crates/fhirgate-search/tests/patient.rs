//! Patient extraction against official examples; every expectation is
//! derived by hand from the example JSON and search.html.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use common::*;
use fhirgate_search::{IndexValue, DATE_MAX};

const OID: &str = "urn:oid:2.16.840.1.113883.2.4.6.3";

#[test]
fn patient_f001_strings() {
    let e = extract("Patient-f001.json");
    // HumanName: family, given[], prefix[], suffix[], text (search.html#string).
    assert_eq!(
        values(&e, "name"),
        vec![string("van de Heuvel"), string("Pieter"), string("MSc")]
    );
    assert_eq!(values(&e, "phonetic"), values(&e, "name"));
    assert_eq!(values(&e, "family"), vec![string("van de Heuvel")]);
    assert_eq!(values(&e, "given"), vec![string("Pieter")]);
    assert_eq!(values(&e, "address-city"), vec![string("Amsterdam")]);
    assert_eq!(values(&e, "address-postalcode"), vec![string("1024 RJ")]);
    assert_eq!(values(&e, "address-country"), vec![string("NLD")]);
    assert_eq!(values(&e, "address-state"), vec![]);
    assert_eq!(
        values(&e, "address"),
        vec![
            string("Van Egmondkade 23"),
            string("Amsterdam"),
            string("1024 RJ"),
            string("NLD")
        ]
    );
}

#[test]
fn patient_f001_tokens() {
    let e = extract("Patient-f001.json");
    assert_eq!(
        values(&e, "identifier"),
        vec![
            token(Some(OID), Some("738472983"), None),
            // The second identifier has a system but no value.
            token(Some(OID), None, None),
        ]
    );
    // ContactPoint tokens match the value; `where(system=...)` filters.
    assert_eq!(
        values(&e, "phone"),
        vec![token(None, Some("0648352638"), None)]
    );
    assert_eq!(
        values(&e, "email"),
        vec![token(None, Some("p.heuvel@gmail.com"), None)]
    );
    assert_eq!(
        values(&e, "telecom"),
        vec![
            token(None, Some("0648352638"), None),
            token(None, Some("p.heuvel@gmail.com"), None)
        ]
    );
    assert_eq!(values(&e, "gender"), vec![token(None, Some("male"), None)]);
    assert_eq!(values(&e, "active"), vec![token(None, Some("true"), None)]);
    assert_eq!(
        values(&e, "address-use"),
        vec![token(None, Some("home"), None)]
    );
    assert_eq!(values(&e, "_id"), vec![token(None, Some("f001"), None)]);
    // deceasedBoolean false: exists() and (false != false) -> false.
    assert_eq!(
        values(&e, "deceased"),
        vec![token(None, Some("false"), None)]
    );
    // CodeableConcept.text and the coding's display go with each coding
    // (search.html#modifiers, :text).
    assert_eq!(
        values(&e, "language"),
        vec![token(
            Some("urn:ietf:bcp:47"),
            Some("nl"),
            Some("Nederlands Dutch")
        )]
    );
}

#[test]
fn patient_f001_dates_and_references() {
    let e = extract("Patient-f001.json");
    assert_eq!(
        values(&e, "birthdate"),
        vec![date("1944-11-17T00:00:00Z", "1944-11-17T23:59:59.999Z")]
    );
    assert_eq!(values(&e, "death-date"), vec![]);
    assert_eq!(
        values(&e, "organization"),
        vec![reference(
            "Organization/f001",
            Some("Organization"),
            Some("f001")
        )]
    );
    assert_eq!(values(&e, "general-practitioner"), vec![]);
    assert!(DATE_MAX > utc("9999-12-31T23:59:59.998Z"));
}

#[test]
fn patient_pat4_deceased_true_and_identifier_type_without_text() {
    let e = extract("Patient-pat4.json");
    assert_eq!(
        values(&e, "deceased"),
        vec![token(None, Some("true"), None)]
    );
    assert_eq!(
        values(&e, "identifier"),
        vec![token(Some("urn:oid:0.1.2.3.4.5.6.7"), Some("123458"), None)]
    );
    assert_eq!(
        values(&e, "birthdate"),
        vec![date("1982-08-02T00:00:00Z", "1982-08-02T23:59:59.999Z")]
    );
    assert_eq!(values(&e, "given"), vec![string("Sandy")]);
}

#[test]
fn patient_meta_last_updated_is_rebased_from_resource() {
    let e = extract("Patient-genetics-example1.json");
    assert_eq!(
        values(&e, "_lastUpdated"),
        vec![date("2012-05-29T23:45:32Z", "2012-05-29T23:45:32.999Z")]
    );
}

#[test]
fn patient_deceased_date_time_and_absent() {
    let reg = registry();
    let mut p = serde_json::json!({
        "resourceType": "Patient", "id": "x",
        "deceasedDateTime": "2015-02-14T13:42:00+10:00"
    });
    let e = reg.extract("Patient", &p);
    // A dateTime is never equal to `false`, so `!= false` is true.
    assert_eq!(
        values(&e, "deceased"),
        vec![token(None, Some("true"), None)]
    );
    assert_eq!(
        values(&e, "death-date"),
        vec![date("2015-02-14T03:42:00Z", "2015-02-14T03:42:00.999Z")]
    );
    p.as_object_mut().unwrap().remove("deceasedDateTime");
    let e = reg.extract("Patient", &p);
    // `false and {}` is false (three-valued `and`).
    assert_eq!(
        values(&e, "deceased"),
        vec![token(None, Some("false"), None)]
    );
    assert_eq!(values(&e, "death-date"), Vec::<IndexValue>::new());
}

#[test]
fn patient_link_and_general_practitioner_references() {
    let p = serde_json::json!({
        "resourceType": "Patient",
        "generalPractitioner": [
            {"reference": "http://example.org/fhir/Practitioner/p1/_history/3"},
            {"reference": "urn:uuid:5ba0a8a0-0000-4000-8000-000000000000", "type": "Practitioner"}
        ],
        "link": [{"other": {"reference": "RelatedPerson/rp1"}, "type": "seealso"}]
    });
    let e = registry().extract("Patient", &p);
    assert_eq!(
        values(&e, "general-practitioner"),
        vec![
            IndexValue::Reference {
                reference: s("http://example.org/fhir/Practitioner/p1/_history/3"),
                target_type: s("Practitioner"),
                target_id: s("p1"),
                version: s("3"),
                identifier: None,
            },
            // A urn: reference names no type; Reference.type supplies it.
            reference(
                "urn:uuid:5ba0a8a0-0000-4000-8000-000000000000",
                Some("Practitioner"),
                None
            ),
        ]
    );
    assert_eq!(
        values(&e, "link"),
        vec![reference(
            "RelatedPerson/rp1",
            Some("RelatedPerson"),
            Some("rp1")
        )]
    );
}
