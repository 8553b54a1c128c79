//! Business rules of this server that are not R4 invariants. The R4 invariants themselves
//! (dom-*, app-*, obs-*, pat-1, per-1, ext-1, ...) are generated from the R4
//! StructureDefinitions and evaluated by `fhirgate_validate::Invariants`. A violation is 422
//! Unprocessable Entity with issue code `invariant` (http://hl7.org/fhir/R4/http.html#2.21.0.17:
//! "the proposed resource violated applicable FHIR profiles or server business rules").

use chrono::DateTime;
use fhirgate_validate::Violation;
use serde_json::{Map, Value};

use crate::model::ResourceType;

/// The server's own rules for `rtype`.
pub fn check(rtype: ResourceType, r: &Map<String, Value>) -> Vec<Violation> {
    let mut out = Vec::new();
    if rtype == ResourceType::Appointment {
        // fhirgate-app-1: a booked slot is a half-open interval [start, end) of instants
        // (the double-booking exclusion constraint, store/bookings.rs), so it must not be
        // empty: end strictly after start. R4's app-* say nothing of the order; per-1 does
        // not apply (start/end are not a Period).
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
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(v: Value) -> Vec<String> {
        check(ResourceType::Appointment, v.as_object().unwrap())
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
}
