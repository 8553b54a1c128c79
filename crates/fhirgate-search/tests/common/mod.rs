//! Shared helpers for the integration tests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    dead_code
)]

use std::path::PathBuf;
use std::sync::OnceLock;

use fhirgate_search::{IndexEntry, IndexValue, Registry};

pub const TYPES: [&str; 6] = [
    "Patient",
    "Practitioner",
    "Observation",
    "Appointment",
    "MedicationRequest",
    "AuditEvent",
];

pub fn registry() -> &'static Registry {
    static REG: OnceLock<Registry> = OnceLock::new();
    REG.get_or_init(|| Registry::r4(&TYPES).expect("registry builds"))
}

pub fn examples_dir() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/examples/fhir")
}

/// Loads an official example; a missing examples directory fails the test.
pub fn example(name: &str) -> serde_json::Value {
    let path = examples_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("example {} must exist: {e}", path.display()));
    serde_json::from_str(&text).expect("example is JSON")
}

pub fn extract(name: &str) -> Vec<IndexEntry> {
    let v = example(name);
    let rt = v["resourceType"]
        .as_str()
        .expect("resourceType")
        .to_string();
    registry().extract(&rt, &v)
}

/// The values extracted for one parameter, in extraction order.
pub fn values(entries: &[IndexEntry], param: &str) -> Vec<IndexValue> {
    entries
        .iter()
        .filter(|e| e.param == param)
        .map(|e| e.value.clone())
        .collect()
}

pub fn s(x: &str) -> Option<String> {
    Some(x.to_string())
}

pub fn string(x: &str) -> IndexValue {
    IndexValue::String(x.to_string())
}

pub fn token(system: Option<&str>, code: Option<&str>, text: Option<&str>) -> IndexValue {
    IndexValue::Token {
        system: system.map(str::to_string),
        code: code.map(str::to_string),
        text: text.map(str::to_string),
    }
}

pub fn reference(r: &str, ty: Option<&str>, id: Option<&str>) -> IndexValue {
    IndexValue::Reference {
        reference: s(r),
        target_type: ty.map(str::to_string),
        target_id: id.map(str::to_string),
        version: None,
        identifier: None,
    }
}

pub fn quantity(
    value: &str,
    system: Option<&str>,
    code: Option<&str>,
    unit: Option<&str>,
) -> IndexValue {
    IndexValue::Quantity {
        value: value.to_string(),
        system: system.map(str::to_string),
        code: code.map(str::to_string),
        unit: unit.map(str::to_string),
    }
}

/// `YYYY-MM-DDThh:mm:ss.fffZ` -> UTC instant.
pub fn utc(text: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(text)
        .expect("test timestamp")
        .with_timezone(&chrono::Utc)
}

pub fn date(low: &str, high: &str) -> IndexValue {
    IndexValue::Date {
        low: utc(low),
        high: utc(high),
    }
}

/// What a search on an Observation's `param` reads: the parameter's own
/// values, or for a union parameter (`combo-*`, src/unions.rs) its parts'
/// values, which are all it has (union parameters are not indexed themselves).
pub fn searched(entries: &[IndexEntry], param: &str) -> Vec<IndexValue> {
    let parts = registry()
        .get("Observation", param)
        .map(|d| d.index_params())
        .unwrap_or_else(|| vec![param.to_string()]);
    if parts.len() > 1 {
        assert_eq!(
            values(entries, param),
            vec![],
            "{param} has rows of its own"
        );
    }
    parts.iter().flat_map(|p| values(entries, p)).collect()
}
