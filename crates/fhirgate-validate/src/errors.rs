//! Turns jsonschema errors into [`Issue`]s: a FHIR issue type, a FHIRPath-style expression and
//! a diagnostic that never quotes the client's values (they may be PHI).

use std::collections::HashMap;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::paths::LocationSegment;
use jsonschema::ValidationError;
use serde_json::Value;

use crate::{dates, narrative, path, schema, Issue, IssueCode};

/// Enumerations longer than this are summarised rather than listed.
const MAX_LISTED_CODES: usize = 12;

/// Validates `instance` (whose expression is `base`) and appends its issues to `out`.
pub fn schema_issues(
    validator: &jsonschema::Validator,
    instance: &Value,
    base: &str,
    pattern_types: &HashMap<String, String>,
    cap: usize,
    out: &mut Vec<Issue>,
) {
    // The fast path: most requests are valid, and `is_valid` skips building errors.
    if validator.is_valid(instance) {
        return;
    }
    for error in validator.iter_errors(instance) {
        if out.len() >= cap {
            return;
        }
        // Where `null` may appear is a JSON-format rule checked (with better messages) by
        // `rules.rs`; the schema simply has no notion of it.
        if error.instance().is_null() {
            continue;
        }
        convert(&error, base, pattern_types, out);
    }
}

fn convert(
    error: &ValidationError<'_>,
    base: &str,
    pattern_types: &HashMap<String, String>,
    out: &mut Vec<Issue>,
) {
    let mut expr = base.to_owned();
    for segment in error.instance_path().iter() {
        match segment {
            LocationSegment::Property(name) => path::push_name(&mut expr, &name),
            LocationSegment::Index(i) => path::push_index(&mut expr, i),
        }
    }
    let issue = |code, expression: String, diagnostics: String| Issue {
        code,
        expression: Some(expression),
        diagnostics,
    };
    match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            for name in unexpected {
                let mut e = expr.clone();
                path::push_name(&mut e, name);
                out.push(issue(
                    IssueCode::Structure,
                    e,
                    "Unknown element: it is not defined here in FHIR R4 (check spelling and case; extensions go in 'extension')".to_owned(),
                ));
            }
        }
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or("?");
            path::push_name(&mut expr, name);
            out.push(issue(
                IssueCode::Required,
                expr,
                format!("Missing required element '{name}'"),
            ));
        }
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(t) => t.as_str().to_owned(),
                TypeKind::Multiple(set) => set
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(" or "),
            };
            let found = json_type(error.instance());
            out.push(issue(
                IssueCode::Structure,
                expr,
                format!("Wrong JSON type: expected {expected}, found {found}"),
            ));
        }
        ValidationErrorKind::Pattern { pattern } => {
            let diagnostics = match pattern_types.get(pattern) {
                Some(t) => format!("Invalid value for the FHIR type '{t}' (http://hl7.org/fhir/R4/datatypes.html#{t})"),
                None => "Value does not match the pattern the FHIR R4 schema requires here".to_owned(),
            };
            out.push(issue(IssueCode::Value, expr, diagnostics));
        }
        ValidationErrorKind::Format { format } => {
            let diagnostics = if format == schema::FORMAT_XHTML {
                error
                    .instance()
                    .as_str()
                    .and_then(narrative::check)
                    .unwrap_or("Invalid narrative XHTML")
            } else {
                dates::explain(format)
            };
            out.push(issue(IssueCode::Value, expr, diagnostics.to_owned()));
        }
        ValidationErrorKind::Enum { options } => {
            let codes: Vec<&str> = options
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let diagnostics = if expr.ends_with(".resourceType") && codes.len() > MAX_LISTED_CODES {
                "Not a FHIR R4 resource type".to_owned()
            } else if codes.len() > MAX_LISTED_CODES {
                format!(
                    "Code is not one of the {} allowed by the required value set",
                    codes.len()
                )
            } else {
                format!(
                    "Code is not in the required value set; allowed: {}",
                    codes.join(", ")
                )
            };
            out.push(issue(IssueCode::Value, expr, diagnostics));
        }
        ValidationErrorKind::Constant { expected_value } => {
            let expected = expected_value.as_str().unwrap_or("a fixed value");
            out.push(issue(
                IssueCode::Invalid,
                expr,
                format!("Value must be '{expected}'"),
            ));
        }
        ValidationErrorKind::Custom { keyword, message } if keyword == schema::REQUIRED_KEYWORD => {
            // The message is the element's name from required.rs (schema data, not client data).
            expr.push('.');
            expr.push_str(message.trim_end_matches("[x]"));
            out.push(issue(
                IssueCode::Required,
                expr,
                format!("Missing required element '{message}'"),
            ));
        }
        ValidationErrorKind::Custom { message, .. } => {
            out.push(issue(IssueCode::Value, expr, message.clone()));
        }
        _ => {
            // `masked` replaces the instance value with a placeholder.
            out.push(issue(IssueCode::Invalid, expr, error.masked().to_string()));
        }
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
