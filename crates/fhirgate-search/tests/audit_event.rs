//! AuditEvent extraction against official examples (hand-derived).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use common::*;
use fhirgate_search::IndexValue;

const DCM: &str = "http://dicom.nema.org/resources/ontology/DCM";

fn by_identifier(system: Option<&str>, value: &str) -> IndexValue {
    IndexValue::Reference {
        reference: None,
        target_type: None,
        target_id: None,
        version: None,
        identifier: Some((system.map(str::to_string), s(value))),
    }
}

#[test]
fn audit_event_example() {
    let e = extract("AuditEvent-example.json");
    // AuditEvent.type and subtype are Codings: display is the text.
    assert_eq!(
        values(&e, "type"),
        vec![token(
            Some(DCM),
            Some("110100"),
            Some("Application Activity")
        )]
    );
    assert_eq!(
        values(&e, "subtype"),
        vec![token(Some(DCM), Some("110120"), Some("Application Start"))]
    );
    assert_eq!(values(&e, "action"), vec![token(None, Some("E"), None)]);
    assert_eq!(values(&e, "outcome"), vec![token(None, Some("0"), None)]);
    // +11:00 converted to UTC.
    assert_eq!(
        values(&e, "date"),
        vec![date("2012-10-25T11:04:27Z", "2012-10-25T11:04:27.999Z")]
    );
    // Logical references (identifier only) serve `:identifier`.
    assert_eq!(
        values(&e, "agent"),
        vec![
            by_identifier(None, "Grahame"),
            by_identifier(
                Some("urn:oid:2.16.840.1.113883.4.2"),
                "2.16.840.1.113883.4.2"
            ),
        ]
    );
    assert_eq!(values(&e, "patient"), vec![]);
    assert_eq!(
        values(&e, "agent-role"),
        vec![token(None, None, Some("Service User (Logon)"))]
    );
    assert_eq!(values(&e, "altid"), vec![token(None, Some("6580"), None)]);
    assert_eq!(
        values(&e, "address"),
        vec![
            string("127.0.0.1"),
            string("Workstation1.ehr.familyclinic.com")
        ]
    );
    assert_eq!(
        values(&e, "site"),
        vec![token(None, Some("Development"), None)]
    );
    assert_eq!(values(&e, "source"), vec![]);
    assert_eq!(values(&e, "entity"), vec![by_identifier(None, "ABCDEF")]);
    assert_eq!(
        values(&e, "entity-type"),
        vec![token(
            Some("http://terminology.hl7.org/CodeSystem/audit-entity-type"),
            Some("4"),
            Some("Other")
        )]
    );
    assert_eq!(
        values(&e, "entity-role"),
        vec![token(
            Some("http://terminology.hl7.org/CodeSystem/object-role"),
            Some("4"),
            Some("Domain Resource")
        )]
    );
    assert_eq!(values(&e, "entity-name"), vec![string("Grahame's Laptop")]);
}

#[test]
fn audit_event_disclosure() {
    let e = extract("AuditEvent-example-disclosure.json");
    assert_eq!(
        values(&e, "agent"),
        vec![
            by_identifier(None, "SomeIdiot@nowhere"),
            reference(
                "Practitioner/example",
                Some("Practitioner"),
                Some("example")
            ),
        ]
    );
    assert_eq!(
        values(&e, "agent-name"),
        vec![string("That guy everyone wishes would be caught")]
    );
    assert_eq!(
        values(&e, "policy"),
        vec![IndexValue::Uri("http://consent.com/yes".to_string())]
    );
    let versioned = IndexValue::Reference {
        reference: s("Patient/example/_history/1"),
        target_type: s("Patient"),
        target_id: s("example"),
        version: s("1"),
        identifier: Some((None, s("What.id"))),
    };
    let plain = reference("Patient/example", Some("Patient"), Some("example"));
    assert_eq!(values(&e, "entity"), vec![plain.clone(), versioned.clone()]);
    // Only entity.what resolves to a Patient; the agent is a Practitioner.
    assert_eq!(values(&e, "patient"), vec![plain, versioned]);
    assert_eq!(
        values(&e, "subtype"),
        vec![token(None, Some("Disclosure"), Some("HIPAA disclosure"))]
    );
    assert_eq!(values(&e, "action"), vec![token(None, Some("R"), None)]);
    assert_eq!(
        values(&e, "date"),
        vec![date("2013-09-22T00:08:00Z", "2013-09-22T00:08:00.999Z")]
    );
}
