//! Every official R4 example of the types the gateway serves must validate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use fhirgate_validate::{parse_json, Validator};

const TYPES: &[&str] = &[
    "Patient",
    "Practitioner",
    "Observation",
    "Appointment",
    "MedicationRequest",
    "AuditEvent",
];

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/examples/fhir")
}

#[test]
fn official_examples_validate() {
    let dir = examples_dir();
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("examples directory {} missing: {e}", dir.display()));
    let started = Instant::now();
    let validator = Validator::new(TYPES).unwrap();
    eprintln!("Validator::new: {:?}", started.elapsed());
    let mut checked = 0;
    let mut failures = Vec::new();
    for entry in entries {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(t) = TYPES.iter().find(|t| name.starts_with(&format!("{t}-"))) else {
            continue;
        };
        if !name.ends_with(".json") {
            continue;
        }
        let value =
            parse_json(&std::fs::read(&path).unwrap()).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        if let Err(issues) = validator.validate(t, &value) {
            failures.push(format!("{name}: {issues:#?}"));
        }
        checked += 1;
    }
    assert!(
        checked >= 60,
        "only {checked} examples found in {}",
        dir.display()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
