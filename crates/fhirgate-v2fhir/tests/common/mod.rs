//! Shared by the integration tests: the sample messages and one validator.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::OnceLock;

use fhirgate_v2fhir::{to_bundle, MapError, MapOptions, Mapped};
use fhirgate_validate::Validator;
use serde_json::Value;

pub const SERVED: &[&str] = &[
    "Patient",
    "Practitioner",
    "Observation",
    "Appointment",
    "MedicationRequest",
];

pub fn validator() -> &'static Validator {
    static V: OnceLock<Validator> = OnceLock::new();
    V.get_or_init(|| Validator::new(SERVED).expect("R4 schema compiles"))
}

/// The raw sample with HL7's `\r` segment ends (2.5.3); the shared files use
/// `\n`, which the checked parser also accepts, but the error tests edit
/// messages segment by segment on `\r`.
pub fn raw(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{name}.hl7", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("sample exists");
    text.replace("\r\n", "\r").replace('\n', "\r").into_bytes()
}

pub fn map_with(name: &str, opts: &MapOptions) -> Result<Mapped, MapError> {
    let msg = fhirgate_hl7::parse(&raw(name)).expect("sample parses");
    to_bundle(&msg, opts)
}

pub fn map(name: &str) -> Mapped {
    map_with(name, &MapOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Every entry's resource is valid R4 and of a served type; the request is
/// a conditional PUT or a conditional POST on an identifier the resource has.
pub fn check(name: &str, m: &Mapped) {
    let entries = m.bundle["entry"].as_array().expect("entries");
    assert!(!entries.is_empty(), "{name}: no entries");
    assert_eq!(m.bundle["type"], "transaction");
    for e in entries {
        let r = &e["resource"];
        let t = r["resourceType"].as_str().expect("resourceType");
        assert!(SERVED.contains(&t), "{name}: {t} is not served");
        if let Err(issues) = validator().validate(t, r) {
            panic!(
                "{name}: invalid {t}: {issues:#?}\n{}",
                serde_json::to_string_pretty(r).unwrap()
            );
        }
        assert!(e["fullUrl"].as_str().unwrap().starts_with("urn:uuid:"));
        let req = &e["request"];
        match req["method"].as_str() {
            Some("PUT") => assert!(req["url"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{t}?identifier="))),
            Some("POST") => {
                assert_eq!(req["url"], t);
                assert!(req["ifNoneExist"]
                    .as_str()
                    .unwrap()
                    .starts_with("identifier="));
            }
            other => panic!("{name}: method {other:?}"),
        }
    }
}

/// Entries of one type.
pub fn of_type<'a>(m: &'a Mapped, t: &str) -> Vec<&'a Value> {
    m.bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource"]["resourceType"] == t)
        .collect()
}

/// The entry whose fullUrl is `url`.
pub fn by_url<'a>(m: &'a Mapped, url: &str) -> &'a Value {
    m.bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["fullUrl"] == url)
        .unwrap_or_else(|| panic!("no entry {url}"))
}
