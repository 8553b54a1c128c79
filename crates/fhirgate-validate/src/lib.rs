//! Strict parsing and validation of incoming FHIR R4 JSON resources.
//!
//! Why this crate exists: a gateway that stores and forwards clinical data must not accept
//! content other systems will read differently or reject later. FHIR R4 defines its JSON format
//! (http://hl7.org/fhir/R4/json.html) and publishes a JSON Schema for it, but neither
//! `serde_json` nor the schema alone enforces the whole format:
//! - `serde_json` keeps the last of duplicate keys and accepts any depth up to its own limit,
//!   so [`parse_json`] drives its tokenizer with a stricter visitor (`json.rs`);
//! - the schema checks element names, JSON types, required elements and primitive regexes, but
//!   not calendar validity of dates, integer ranges, control characters, empty
//!   objects/arrays/strings or `null` placement, so those are added here
//!   (`dates.rs`, `schema.rs`, `rules.rs`, `narrative.rs`);
//! - the schema's `ResourceList` (a `oneOf` over every resource type) is slow and yields
//!   unreadable errors, so contained resources are validated against their own type instead.
//!
//! It also holds the `_summary` and `_elements` result filters ([`apply_summary`],
//! [`apply_elements`]): pure functions over the same R4 definitions.
//!
//! Every [`Issue`] maps onto an `OperationOutcome.issue`
//! (http://hl7.org/fhir/R4/operationoutcome.html); diagnostics never quote client values.
#![forbid(unsafe_code)]

mod dates;
mod errors;
mod fhirpath;
mod invariants;
mod json;
mod keywords;
mod narrative;
mod narrative_links;
mod path;
mod r4types;
mod required;
mod rules;
mod schema;
mod summary;
mod summary_table;

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value;

pub use invariants::{ConstraintDef, ElementInfo, Enforcement, Invariants, Violation, EXCLUDED};
pub use json::{
    parse_json, parse_json_value_with, parse_json_with, too_many_message, JsonError,
    DEFAULT_MAX_NODES, MAX_DEPTH,
};
pub use narrative_links::rewrite_links;
pub use summary::{apply_elements, apply_summary, Summary, SUBSETTED_CODE, SUBSETTED_SYSTEM};

/// At most this many issues are returned for one resource; the last one says so when cut.
pub const MAX_ISSUES: usize = 50;

/// One problem found, ready to become an OperationOutcome.issue
/// (http://hl7.org/fhir/R4/operationoutcome.html).
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    /// FHIR issue-type (http://hl7.org/fhir/R4/valueset-issue-type.html).
    pub code: IssueCode,
    /// FHIRPath-style location, e.g. "Patient.name[0].given[1]", "Patient.birthDate".
    pub expression: Option<String>,
    /// Readable explanation; never echoes more than ~64 characters of client data.
    pub diagnostics: String,
}

/// The subset of the FHIR issue-type code system this crate reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IssueCode {
    Structure,
    Invalid,
    Value,
    Required,
    TooLong,
    NotSupported,
    TooCostly,
    /// A rule (invariant) of the definitions failed, e.g. bdl-7.
    Invariant,
}

impl IssueCode {
    /// The FHIR code (http://hl7.org/fhir/R4/codesystem-issue-type.html).
    pub fn as_str(&self) -> &'static str {
        match self {
            IssueCode::Structure => "structure",
            IssueCode::Invalid => "invalid",
            IssueCode::Value => "value",
            IssueCode::Required => "required",
            IssueCode::TooLong => "too-long",
            IssueCode::NotSupported => "not-supported",
            IssueCode::TooCostly => "too-costly",
            IssueCode::Invariant => "invariant",
        }
    }
}

/// FHIR id rule `[A-Za-z0-9\-\.]{1,64}` (http://hl7.org/fhir/R4/datatypes.html#id).
pub fn is_valid_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

type Compiled = Result<jsonschema::Validator, String>;

/// Validators for FHIR R4 resources, compiled from the official R4 JSON Schema.
///
/// Build it once at start-up and share it (it is `Send + Sync`). The types passed to
/// [`Validator::new`] are compiled immediately; any other R4 resource type (typically one met
/// in `contained`) is compiled on first use and then cached.
pub struct Validator {
    registry: jsonschema::Registry<'static>,
    compiled: HashMap<String, OnceLock<Compiled>>,
    pattern_types: HashMap<String, String>,
}

impl Validator {
    /// Compile validators for the given resource types. Slow (start-up only).
    pub fn new(resource_types: &[&str]) -> Result<Self, String> {
        let prepared = schema::prepare()?;
        let compiled = prepared
            .resource_types
            .iter()
            .map(|t| (t.clone(), OnceLock::new()))
            .collect();
        let validator = Validator {
            registry: prepared.registry,
            compiled,
            pattern_types: prepared.pattern_types,
        };
        for t in resource_types {
            match validator.get(t) {
                None => return Err(format!("'{t}' is not a FHIR R4 resource type")),
                Some(Err(e)) => return Err(e.clone()),
                Some(Ok(_)) => {}
            }
        }
        Ok(validator)
    }

    /// Is `name` an R4 resource type?
    pub fn is_resource_type(&self, name: &str) -> bool {
        self.compiled.contains_key(name)
    }

    fn get(&self, resource_type: &str) -> Option<&Compiled> {
        let slot = self.compiled.get(resource_type)?;
        Some(slot.get_or_init(|| schema::compile(&self.registry, resource_type)))
    }

    /// Validate a resource of `resource_type`. Returns all issues found (at most
    /// [`MAX_ISSUES`]).
    pub fn validate(&self, resource_type: &str, resource: &Value) -> Result<(), Vec<Issue>> {
        let fail = |code, expression: Option<&str>, diagnostics: &str| {
            Err(vec![Issue {
                code,
                expression: expression.map(str::to_owned),
                diagnostics: diagnostics.to_owned(),
            }])
        };
        let validator = match self.get(resource_type) {
            Some(Ok(v)) => v,
            Some(Err(_)) => {
                return fail(
                    IssueCode::NotSupported,
                    None,
                    "Validation of this resource type is not available",
                )
            }
            None => return fail(IssueCode::NotSupported, None, "Not a FHIR R4 resource type"),
        };
        let Value::Object(object) = resource else {
            return fail(
                IssueCode::Structure,
                None,
                "A FHIR resource must be a JSON object",
            );
        };
        // Checked first: validating a resource against another type's schema only yields noise.
        if object.get("resourceType").and_then(Value::as_str) != Some(resource_type) {
            return fail(IssueCode::Invalid, Some("resourceType"), "resourceType is missing or does not match the type of resource expected here (http://hl7.org/fhir/R4/json.html#resources)");
        }

        // One slot is kept back for the "too many issues" note.
        let cap = MAX_ISSUES - 1;
        let mut issues = Vec::new();
        rules::check_resource(object, resource_type, cap, &mut issues);
        errors::schema_issues(
            validator,
            resource,
            resource_type,
            &self.pattern_types,
            cap,
            &mut issues,
        );
        if let Some(Value::Array(contained)) = object.get("contained") {
            for (i, item) in contained.iter().enumerate() {
                self.contained(
                    item,
                    &format!("{resource_type}.contained[{i}]"),
                    cap,
                    &mut issues,
                );
            }
        }

        dedupe(&mut issues);
        if issues.is_empty() {
            return Ok(());
        }
        if issues.len() >= cap {
            issues.truncate(cap);
            issues.push(Issue {
                code: IssueCode::TooCostly,
                expression: None,
                diagnostics: format!("Validation stopped after {cap} issues"),
            });
        }
        Err(issues)
    }

    /// A contained resource is checked against its own declared type
    /// (http://hl7.org/fhir/R4/references.html#contained). A non-object or an unknown
    /// `resourceType` has already been reported by the container's schema.
    fn contained(&self, item: &Value, base: &str, cap: usize, issues: &mut Vec<Issue>) {
        let Value::Object(object) = item else { return };
        let Some(Ok(validator)) = object
            .get("resourceType")
            .and_then(Value::as_str)
            .and_then(|t| self.get(t))
        else {
            return;
        };
        // dom-2, dom-4 and dom-5 are invariants of the container (`Invariants`, 422).
        rules::check_resource(object, base, cap, issues);
        errors::schema_issues(validator, item, base, &self.pattern_types, cap, issues);
    }
}

/// One issue per (code, location): the first, most specific, wins (e.g. "empty string" over
/// "does not match the date pattern" and "not a valid date" for the same `""`).
fn dedupe(issues: &mut Vec<Issue>) {
    let mut seen = std::collections::HashSet::new();
    issues.retain(|i| seen.insert((i.code, i.expression.clone())));
}

/// The elements of a JSON Schema definition (e.g. `Observation_Component`)
/// that R4 requires but the schema does not list in `required`: primitives
/// (present as `x` or `_x`), and each required choice with its JSON
/// properties. Tests that build resources from the schema use it.
pub fn required_elements(definition: &str) -> (&'static [&'static str], required::Choices) {
    let primitives = required::REQUIRED_PRIMITIVES
        .iter()
        .find(|(d, _)| *d == definition)
        .map_or(&[][..], |(_, names)| *names);
    let choices = required::REQUIRED_CHOICES
        .iter()
        .find(|(d, _)| *d == definition)
        .map_or(&[][..], |(_, c)| *c);
    (primitives, choices)
}

/// Whether `property` of JSON Schema definition `definition` is an R4 element:
/// the bundled schema adds a few that are not (a server vendor's and some R5
/// elements), which validation refuses as unknown.
pub fn is_r4_element(definition: &str, property: &str) -> bool {
    !schema::NOT_R4
        .iter()
        .any(|(d, props)| *d == definition && props.contains(&property))
}
