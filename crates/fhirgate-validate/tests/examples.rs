//! Every official R4 example of the types the gateway serves must validate.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use fhirgate_validate::{parse_json, Invariants, Validator};

mod common;

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
    let started = Instant::now();
    let invariants = Invariants::load().unwrap();
    eprintln!("Invariants::load: {:?}", started.elapsed());
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
        let violated = invariants.check(t, &value);
        if !violated.is_empty() {
            failures.push(format!("{name}: {violated:#?}"));
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

/// Run with `cargo test -p fhirgate-validate --release --test examples -- --ignored --nocapture`.
#[test]
#[ignore = "timing; run explicitly"]
fn perf_patient_f001() {
    let started = Instant::now();
    let validator = Validator::new(common::SERVER_TYPES).unwrap();
    eprintln!("Validator::new (9 server types): {:?}", started.elapsed());

    let bytes = std::fs::read(examples_dir().join("Patient-f001.json")).unwrap();
    let started = Instant::now();
    for _ in 0..1000 {
        std::hint::black_box(parse_json(std::hint::black_box(&bytes)).unwrap());
    }
    eprintln!(
        "parse_json Patient-f001: {:?}/call",
        started.elapsed() / 1000
    );

    let value = parse_json(&bytes).unwrap();
    let started = Instant::now();
    validator.validate("Patient", &value).unwrap();
    eprintln!("first validate: {:?}", started.elapsed());
    let started = Instant::now();
    for _ in 0..1000 {
        validator
            .validate("Patient", std::hint::black_box(&value))
            .unwrap();
    }
    eprintln!("validate Patient-f001: {:?}/call", started.elapsed() / 1000);
    let invariants = Invariants::load().unwrap();
    let started = Instant::now();
    for _ in 0..1000 {
        assert!(invariants
            .check("Patient", std::hint::black_box(&value))
            .is_empty());
    }
    eprintln!(
        "invariants Patient-f001: {:?}/call",
        started.elapsed() / 1000
    );

    // Every other R4 type compiles lazily on first use (e.g. in `contained`).
    let started = Instant::now();
    let mut n = 0;
    for t in [
        "Account",
        "Medication",
        "Organization",
        "Substance",
        "Location",
        "Device",
        "Condition",
        "ValueSet",
        "StructureDefinition",
        "ExplanationOfBenefit",
    ] {
        let _ = validator.validate(t, &serde_json::json!({ "resourceType": t }));
        n += 1;
    }
    eprintln!(
        "lazy compile + validate of {n} other types: {:?}",
        started.elapsed()
    );
}
