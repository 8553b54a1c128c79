//! Which practitioners an Appointment holds a time slot for: the rows of
//! `appointment_bookings`, whose exclusion constraint refuses a double booking
//! inside PostgreSQL (store/bookings.rs).

use chrono::{DateTime, Utc};
use serde_json::Value;

/// (practitioner reference, start, end) for each practitioner who attends an
/// Appointment that holds its slot: status booked, arrived or checked-in
/// (http://hl7.org/fhir/R4/valueset-appointmentstatus.html), with both start and
/// end. A participant who declined does not hold the slot.
pub fn practitioner_slots(resource: &Value) -> Vec<(String, DateTime<Utc>, DateTime<Utc>)> {
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
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn slots_follow_status_and_participation() {
        let appt = serde_json::json!({
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
