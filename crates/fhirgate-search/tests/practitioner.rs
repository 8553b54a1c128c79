//! Practitioner extraction against official examples (hand-derived).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use common::*;

#[test]
fn practitioner_f002() {
    let e = extract("Practitioner-f002.json");
    assert_eq!(
        values(&e, "identifier"),
        vec![
            token(Some("urn:oid:2.16.528.1.1007.3.1"), Some("730291637"), None),
            token(
                Some("urn:oid:2.16.840.1.113883.2.4.6.3"),
                Some("174BIP3JH438"),
                None
            ),
        ]
    );
    assert_eq!(
        values(&e, "name"),
        vec![string("Voigt"), string("Pieter"), string("MD")]
    );
    assert_eq!(values(&e, "family"), vec![string("Voigt")]);
    assert_eq!(values(&e, "given"), vec![string("Pieter")]);
    assert_eq!(
        values(&e, "phone"),
        vec![token(None, Some("0205569336"), None)]
    );
    assert_eq!(
        values(&e, "email"),
        vec![token(None, Some("p.voigt@bmc.nl"), None)]
    );
    // The fax number is a telecom but neither phone nor email.
    assert_eq!(
        values(&e, "telecom"),
        vec![
            token(None, Some("0205569336"), None),
            token(None, Some("p.voigt@bmc.nl"), None),
            token(None, Some("0205669382"), None),
        ]
    );
    assert_eq!(values(&e, "address-city"), vec![string("Den Burg")]);
    assert_eq!(values(&e, "address-postalcode"), vec![string("9105 PZ")]);
    assert_eq!(
        values(&e, "address-use"),
        vec![token(None, Some("work"), None)]
    );
    assert_eq!(values(&e, "gender"), vec![token(None, Some("male"), None)]);
    assert_eq!(values(&e, "_id"), vec![token(None, Some("f002"), None)]);
    assert_eq!(values(&e, "active"), vec![]);
}

#[test]
fn practitioner_f004_communication() {
    let e = extract("Practitioner-f004.json");
    // CodeableConcept.text, then the coding's display (search.html#modifiers, :text).
    assert_eq!(
        values(&e, "communication"),
        vec![token(
            Some("urn:ietf:bcp:47"),
            Some("nl"),
            Some("Language Netherlands")
        )]
    );
}

#[test]
fn practitioner_has_no_patient_only_params() {
    let reg = registry();
    assert!(reg.get("Practitioner", "birthdate").is_none());
    assert!(reg.get("Practitioner", "deceased").is_none());
    assert!(reg.get("Practitioner", "communication").is_some());
}
