//! The FHIR JSON entry point: strict parsing, then validation of whatever parses,
//! exactly as a request body goes (src/fhir/resource.rs). No input may panic.
#![no_main]

use std::sync::OnceLock;

use fhirgate_validate::{parse_json, Validator};
use libfuzzer_sys::fuzz_target;

static VALIDATOR: OnceLock<Option<Validator>> = OnceLock::new();
const TYPES: [&str; 6] = ["Patient", "Practitioner", "Observation", "Appointment", "MedicationRequest", "AuditEvent"];

fuzz_target!(|data: &[u8]| {
    let Ok(value) = parse_json(data) else { return };
    let Some(validator) = VALIDATOR.get_or_init(|| Validator::new(&TYPES).ok()) else { return };
    if let Some(rt) = value.get("resourceType").and_then(|v| v.as_str()) {
        if TYPES.contains(&rt) {
            let _ = validator.validate(rt, &value);
        }
    }
});
