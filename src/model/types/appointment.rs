//! Appointment (http://hl7.org/fhir/R4/appointment.html): the one type with
//! rules of the server's own, and the one that books practitioners' time.
//!
//! Patient compartment (http://hl7.org/fhir/R4/compartmentdefinition-patient.html,
//! `schemas/compartmentdefinition-patient.json`): `actor`
//! (`Appointment.participant.actor`), followed as R4 says.

use chrono::{DateTime, Utc};
use fhirgate_validate::Violation;
use serde_json::{Map, Value};

use crate::model::{Booking, CompartmentRef, Descriptor, PatientCompartment, Storage};

pub static DESCRIPTOR: Descriptor = Descriptor {
    name: "Appointment",
    client_writable: true,
    has_history: true,
    storage: Storage::Versioned,
    phi_params: &[],
    compartment: PatientCompartment {
        owner: false,
        refs: &[CompartmentRef {
            param: "actor",
            path: "participant.actor",
        }],
        not_followed: &[],
    },
    operations: &[],
    in_everything: true,
    rules,
    bookings: Some(practitioner_slots),
    coded_references: &[],
};

/// fhirgate-app-1: a booked slot is a half-open interval [start, end) of
/// instants (the double-booking exclusion constraint, store/bookings.rs), so it
/// must not be empty: end strictly after start. R4's app-* say nothing of the
/// order; per-1 does not apply (start/end are not a Period).
fn rules(r: &Map<String, Value>) -> Vec<Violation> {
    let mut out = Vec::new();
    if let (Some(s), Some(e)) = (
        r.get("start").and_then(Value::as_str),
        r.get("end").and_then(Value::as_str),
    ) {
        if let (Ok(s), Ok(e)) = (
            DateTime::parse_from_rfc3339(s),
            DateTime::parse_from_rfc3339(e),
        ) {
            if s >= e {
                out.push(Violation {
                    key: "fhirgate-app-1".into(),
                    expression: "Appointment.end".into(),
                    text: "end must be after start".into(),
                });
            }
        }
    }
    out
}

/// (practitioner reference, start, end) for each practitioner who attends an
/// Appointment that holds its slot: status booked, arrived or checked-in
/// (http://hl7.org/fhir/R4/valueset-appointmentstatus.html), with both start and
/// end. A participant who declined does not hold the slot.
pub fn practitioner_slots(resource: &Value) -> Vec<Booking> {
    let status = resource.get("status").and_then(Value::as_str).unwrap_or("");
    if !matches!(status, "booked" | "arrived" | "checked-in") {
        return Vec::new();
    }
    let time = |k: &str| {
        resource
            .get(k)
            .and_then(Value::as_str)
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let (Some(start), Some(end)) = (time("start"), time("end")) else {
        return Vec::new();
    };
    let mut out: Vec<_> = resource
        .get("participant")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|p| p.get("status").and_then(Value::as_str) != Some("declined"))
        .filter_map(|p| p.get("actor")?.get("reference")?.as_str())
        .filter_map(|r| {
            r.rsplit_once("Practitioner/")
                .map(|(_, id)| format!("Practitioner/{id}"))
        })
        .map(|r| (r, start, end))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(v: Value) -> Vec<String> {
        rules(v.as_object().unwrap())
            .into_iter()
            .map(|x| x.key)
            .collect()
    }

    #[test]
    fn appointment_end_after_start() {
        let at = |s: &str, e: &str| json!({"status": "booked", "start": s, "end": e});
        assert!(keys(at("2026-01-01T10:00:00Z", "2026-01-01T11:00:00Z")).is_empty());
        assert_eq!(
            keys(at("2026-01-01T11:00:00Z", "2026-01-01T10:00:00+00:00")),
            ["fhirgate-app-1"]
        );
        assert_eq!(
            keys(at("2026-01-01T10:00:00Z", "2026-01-01T11:00:00+01:00")),
            ["fhirgate-app-1"]
        );
    }

    #[test]
    fn slots_follow_status_and_participation() {
        let appt = json!({
            "status": "booked", "start": "2026-01-01T10:00:00Z", "end": "2026-01-01T10:30:00+00:00",
            "participant": [
                {"actor": {"reference": "Practitioner/a"}, "status": "accepted"},
                {"actor": {"reference": "Practitioner/b"}, "status": "declined"},
                {"actor": {"reference": "Patient/p"}, "status": "accepted"}
            ]
        });
        let slots = practitioner_slots(&appt);
        assert_eq!(slots.len(), 1);
        assert_eq!(slots.first().map(|s| s.0.as_str()), Some("Practitioner/a"));
        let mut proposed = appt.clone();
        proposed["status"] = "proposed".into();
        assert!(practitioner_slots(&proposed).is_empty());
    }
}
