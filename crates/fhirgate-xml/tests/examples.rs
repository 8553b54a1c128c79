//! Every JSON example in ../shared/examples/fhir must survive JSON -> XML -> JSON
//! unchanged (http://hl7.org/fhir/R4/json.html, http://hl7.org/fhir/R4/xml.html).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};

use serde_json::Value;

/// Examples that cannot round-trip because of a fhirbolt 0.4.0 defect; see
/// README.md. Keep this empty unless the defect is documented there.
const EXCLUDED: &[&str] = &[];

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/examples/fhir")
}

fn example_files() -> Vec<PathBuf> {
    let dir = examples_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("examples directory {} missing: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no JSON examples in {}", dir.display());
    files
}

/// Semantic JSON equality (object key order ignored, numbers compared by their
/// exact text, which arbitrary_precision keeps); returns the first difference.
fn diff(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for key in x.keys().chain(y.keys()) {
                match (x.get(key), y.get(key)) {
                    (Some(l), Some(r)) => {
                        if let Some(d) = diff(l, r, &format!("{path}.{key}")) {
                            return Some(d);
                        }
                    }
                    (l, r) => return Some(format!("{path}.{key}: {l:?} vs {r:?}")),
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (l, r))| diff(l, r, &format!("{path}[{i}]"))),
        (Value::Number(x), Value::Number(y)) if x.to_string() == y.to_string() => None,
        _ if a == b && !a.is_number() => None,
        _ => Some(format!("{path}: {a} vs {b}")),
    }
}

fn round_trip(file: &Path) -> Result<(), String> {
    let original_text = std::fs::read_to_string(file).map_err(|e| e.to_string())?;
    let original: Value = serde_json::from_str(&original_text).map_err(|e| e.to_string())?;
    for pretty in [true, false] {
        let xml = fhirgate_xml::json_to_xml(&original_text, pretty)
            .map_err(|e| format!("json_to_xml: {}", e.message()))?;
        let json = fhirgate_xml::xml_to_json(xml.as_bytes())
            .map_err(|e| format!("xml_to_json: {}", e.message()))?;
        let back: Value = serde_json::from_str(&json).map_err(|e| e.to_string())?;
        if let Some(d) = diff(&original, &back, "$") {
            return Err(format!("differs (pretty={pretty}) at {d}"));
        }
    }
    Ok(())
}

#[test]
fn all_examples_round_trip_json_xml_json() {
    let mut failures = Vec::new();
    let mut passed = 0;
    for file in example_files() {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        if EXCLUDED.contains(&name.as_str()) {
            continue;
        }
        match round_trip(&file) {
            Ok(()) => passed += 1,
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    println!("{passed} examples round-tripped");
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn required_resource_types_are_present() {
    let names: Vec<String> = example_files()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for kind in [
        "Patient-",
        "Practitioner-",
        "Observation-",
        "Appointment-",
        "MedicationRequest-",
        "AuditEvent-",
    ] {
        assert!(
            names.iter().any(|n| n.starts_with(kind)),
            "no {kind} example"
        );
    }
}
