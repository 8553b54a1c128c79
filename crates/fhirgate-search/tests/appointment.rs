//! Appointment extraction against official examples (hand-derived).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use common::*;

#[test]
fn appointment_2docs() {
    let e = extract("Appointment-2docs.json");
    assert_eq!(
        values(&e, "status"),
        vec![token(None, Some("booked"), None)]
    );
    // instant/dateTime to the second: a one-second range.
    assert_eq!(
        values(&e, "date"),
        vec![date("2013-12-09T09:00:00Z", "2013-12-09T09:00:00.999Z")]
    );
    let patient = reference("Patient/example", Some("Patient"), Some("example"));
    let dr1 = reference(
        "Practitioner/example",
        Some("Practitioner"),
        Some("example"),
    );
    let dr2 = reference("Practitioner/f202", Some("Practitioner"), Some("f202"));
    // The "Phone Call" participant has only a display: not indexed.
    assert_eq!(
        values(&e, "actor"),
        vec![patient.clone(), dr1.clone(), dr2.clone()]
    );
    // where(resolve() is T) filters on the reference's type segment.
    assert_eq!(values(&e, "patient"), vec![patient]);
    assert_eq!(values(&e, "practitioner"), vec![dr1, dr2]);
    assert_eq!(values(&e, "location"), vec![]);
    // Four participants, all "accepted": duplicates collapse.
    assert_eq!(
        values(&e, "part-status"),
        vec![token(None, Some("accepted"), None)]
    );
    assert_eq!(
        values(&e, "service-category"),
        vec![token(
            Some("http://example.org/service-category"),
            Some("gp"),
            Some("General Practice")
        )]
    );
    // A coding without a system still indexes its code.
    assert_eq!(
        values(&e, "service-type"),
        vec![token(None, Some("52"), Some("General Discussion"))]
    );
    assert_eq!(
        values(&e, "specialty"),
        vec![token(
            Some("http://snomed.info/sct"),
            Some("394814009"),
            Some("General practice")
        )]
    );
    assert_eq!(
        values(&e, "appointment-type"),
        vec![token(
            Some("http://terminology.hl7.org/CodeSystem/v2-0276"),
            Some("WALKIN"),
            Some("A previously unscheduled walk-in visit")
        )]
    );
    assert_eq!(
        values(&e, "supporting-info"),
        vec![reference(
            "DiagnosticReport/ultrasound",
            Some("DiagnosticReport"),
            Some("ultrasound")
        )]
    );
}

#[test]
fn appointment_examplereq_location_reason_and_no_start() {
    let e = extract("Appointment-examplereq.json");
    assert_eq!(
        values(&e, "patient"),
        vec![reference(
            "Patient/example",
            Some("Patient"),
            Some("example")
        )]
    );
    assert_eq!(
        values(&e, "location"),
        vec![reference("Location/1", Some("Location"), Some("1"))]
    );
    assert_eq!(values(&e, "practitioner"), vec![]);
    // Two "needs-action" participants collapse into one value.
    assert_eq!(
        values(&e, "part-status"),
        vec![
            token(None, Some("needs-action"), None),
            token(None, Some("accepted"), None)
        ]
    );
    assert_eq!(
        values(&e, "reason-code"),
        vec![token(
            Some("http://snomed.info/sct"),
            Some("413095006"),
            Some("Clinical Review")
        )]
    );
    assert_eq!(
        values(&e, "slot"),
        vec![reference("Slot/example", Some("Slot"), Some("example"))]
    );
    assert_eq!(
        values(&e, "identifier"),
        vec![token(
            Some("http://example.org/sampleappointment-identifier"),
            Some("123"),
            None
        )]
    );
    // `date` is Appointment.start, absent here (requestedPeriod is not used).
    assert_eq!(values(&e, "date"), vec![]);
}
