//! Shared helpers: one Validator per test binary, and short ways to run a JSON text through it.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::sync::OnceLock;

use fhirgate_validate::{parse_json, Issue, IssueCode, Validator};

/// The types the server compiles at start-up.
pub const SERVER_TYPES: &[&str] = &[
    "Patient",
    "Practitioner",
    "Observation",
    "Appointment",
    "MedicationRequest",
    "AuditEvent",
    "Bundle",
    "Parameters",
    "OperationOutcome",
];

pub fn validator() -> &'static Validator {
    static V: OnceLock<Validator> = OnceLock::new();
    V.get_or_init(|| Validator::new(SERVER_TYPES).unwrap())
}

/// Parses `json` (must be well-formed) and validates it as its own `resourceType`.
pub fn check(json: &str) -> Result<(), Vec<Issue>> {
    let value = parse_json(json.as_bytes()).unwrap_or_else(|e| panic!("parse failed: {e:?}"));
    let t = value["resourceType"].as_str().unwrap().to_owned();
    validator().validate(&t, &value)
}

pub fn assert_valid(json: &str) {
    if let Err(issues) = check(json) {
        panic!("expected valid, got {issues:#?}\nfor {json}");
    }
}

/// Asserts that validation reports an issue with this code at this expression.
pub fn assert_issue(json: &str, code: IssueCode, expression: &str) -> Vec<Issue> {
    let issues = check(json).expect_err("expected issues, got Ok");
    assert!(
        issues
            .iter()
            .any(|i| i.code == code && i.expression.as_deref() == Some(expression)),
        "expected {code:?} at {expression}, got {issues:#?}"
    );
    issues
}
