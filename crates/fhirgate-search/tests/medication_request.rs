//! MedicationRequest extraction against official examples (hand-derived).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use common::*;
use fhirgate_search::IndexValue;

#[test]
fn medication_request_medrx0302() {
    let e = extract("MedicationRequest-medrx0302.json");
    let pat = reference("Patient/pat1", Some("Patient"), Some("pat1"));
    assert_eq!(values(&e, "patient"), vec![pat.clone()]);
    assert_eq!(values(&e, "subject"), vec![pat]);
    // authoredOn is a dateTime at day precision.
    assert_eq!(
        values(&e, "authoredon"),
        vec![date("2015-01-15T00:00:00Z", "2015-01-15T23:59:59.999Z")]
    );
    // medicationReference to a contained Medication: the type comes from the
    // contained resource; there is no server id.
    assert_eq!(
        values(&e, "medication"),
        vec![reference("#med0320", Some("Medication"), None)]
    );
    assert_eq!(values(&e, "code"), vec![]);
    assert_eq!(
        values(&e, "status"),
        vec![token(None, Some("active"), None)]
    );
    assert_eq!(values(&e, "intent"), vec![token(None, Some("order"), None)]);
    assert_eq!(
        values(&e, "identifier"),
        vec![token(
            Some("http://www.bmc.nl/portal/prescriptions"),
            Some("12345689"),
            None
        )]
    );
    assert_eq!(
        values(&e, "encounter"),
        vec![reference("Encounter/f001", Some("Encounter"), Some("f001"))]
    );
    assert_eq!(
        values(&e, "requester"),
        vec![reference(
            "Practitioner/f007",
            Some("Practitioner"),
            Some("f007")
        )]
    );
    // Timing without event[]: no `date` value.
    assert_eq!(values(&e, "date"), vec![]);
}

#[test]
fn medication_request_codeable_concept_and_timing_events() {
    let m = serde_json::json!({
        "resourceType": "MedicationRequest",
        "status": "completed",
        "intent": "plan",
        "medicationCodeableConcept": {
            "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "582620"}],
            "text": "Nizatidine 15 MG/ML"
        },
        "subject": {"reference": "Group/g1"},
        "dosageInstruction": [{"timing": {"event": ["2021-05-01T08:00:00+02:00", "2021-05"]}}]
    });
    let e = registry().extract("MedicationRequest", &m);
    assert_eq!(
        values(&e, "code"),
        vec![token(
            Some("http://www.nlm.nih.gov/research/umls/rxnorm"),
            Some("582620"),
            Some("Nizatidine 15 MG/ML")
        )]
    );
    assert_eq!(values(&e, "medication"), vec![]);
    // subject is a Group: `patient` (where(resolve() is Patient)) is empty.
    assert_eq!(values(&e, "patient"), Vec::<IndexValue>::new());
    assert_eq!(
        values(&e, "subject"),
        vec![reference("Group/g1", Some("Group"), Some("g1"))]
    );
    // Each event is its own dateTime value (the path ends at `event`).
    assert_eq!(
        values(&e, "date"),
        vec![
            date("2021-05-01T06:00:00Z", "2021-05-01T06:00:00.999Z"),
            date("2021-05-01T00:00:00Z", "2021-05-31T23:59:59.999Z"),
        ]
    );
}
