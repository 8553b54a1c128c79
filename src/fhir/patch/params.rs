//! The parts of a FHIRPath Patch operation (http://hl7.org/fhir/R4/fhirpatch.html: a
//! Parameters `parameter` named `operation` whose `part`s are type, path, name, value,
//! index, source and destination) and the subset of FHIRPath paths supported: element
//! names with optional `[n]` indexes, the first naming the resource type.

use serde_json::Value;

use super::unprocessable;
use crate::fhir::error::FhirError;
use crate::model::ResourceType;

pub(super) struct Step {
    pub name: String,
    pub index: Option<usize>,
}

/// `Type.a[0].b` into steps after the type.
pub(super) fn steps(path: &str, rtype: ResourceType) -> Result<Vec<Step>, FhirError> {
    let mut parts = path.split('.');
    if parts.next() != Some(rtype.as_str()) {
        return Err(unprocessable(format!(
            "FHIRPath Patch path {path:?} must start with {rtype}"
        )));
    }
    let name_ok = |n: &str| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric());
    parts
        .map(|p| {
            let (name, index) = match p.split_once('[') {
                Some((n, rest)) => {
                    let i = rest
                        .strip_suffix(']')
                        .and_then(|i| i.parse::<usize>().ok())
                        .ok_or_else(|| unprocessable(format!("unsupported path step {p:?}")))?;
                    (n, Some(i))
                }
                None => (p, None),
            };
            if !name_ok(name) {
                return Err(unprocessable(format!(
                    "FHIRPath Patch supports paths of element names and [n] indexes here; {p:?} is not one"
                )));
            }
            Ok(Step {
                name: name.to_owned(),
                index,
            })
        })
        .collect()
}

fn part<'a>(op: &'a Value, name: &str) -> Option<&'a Value> {
    op.get("part")?
        .as_array()?
        .iter()
        .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
}

/// A part's `value[x]` and its type as the JSON names it (`valueBoolean` -> `Boolean`).
pub(super) fn typed_value<'a>(op: &'a Value, name: &str) -> Option<(&'a str, &'a Value)> {
    part(op, name)?.as_object()?.iter().find_map(|(k, v)| {
        k.strip_prefix("value")
            .filter(|t| t.starts_with(|c: char| c.is_ascii_uppercase()))
            .map(|t| (t, v))
    })
}

pub(super) fn part_text(op: &Value, name: &str) -> Option<String> {
    typed_value(op, name).and_then(|(_, v)| {
        v.as_str()
            .map(str::to_owned)
            .or_else(|| v.as_u64().map(|n| n.to_string()))
    })
}
