//! The target type of a Reference, where the reference itself tells it
//! (http://hl7.org/fhir/R4/references.html#Reference): a literal `Type/id` (relative, or an
//! absolute URL ending so, `/_history/vid` allowed), a conditional `Type?query`, a local
//! `#id` (the contained resource's own type), or `Reference.type`.

use serde_json::Value;

use crate::r4types::R4_RESOURCE_TYPES;

const SD: &str = "http://hl7.org/fhir/StructureDefinition/";

fn resource_type(s: &str) -> Option<&'static str> {
    R4_RESOURCE_TYPES.iter().copied().find(|t| *t == s)
}

/// The type named by a literal reference, `None` when it names none (`urn:uuid:...`, a
/// URL that does not end in `Type/id`, or `#id`, which the caller looks up).
pub(crate) fn literal_type(reference: &str) -> Option<&'static str> {
    if let Some((t, _)) = reference.split_once('?') {
        return (!t.contains('/') && !t.contains(':'))
            .then(|| resource_type(t))
            .flatten();
    }
    let mut parts: Vec<&str> = reference.split('/').collect();
    if parts.len() >= 4 && parts.get(parts.len() - 2) == Some(&"_history") {
        parts.truncate(parts.len() - 2);
    }
    match parts.as_slice() {
        [.., t, id] if crate::is_valid_id(id) => resource_type(t),
        _ => None,
    }
}

/// The types a Reference names: from its literal reference (a local one looked up in
/// `contained`) and from `Reference.type`.
pub(crate) fn target_types<'v>(
    reference: &'v Value,
    contained: Option<&'v Vec<Value>>,
) -> Vec<&'v str> {
    let mut out = Vec::new();
    if let Some(r) = reference.get("reference").and_then(Value::as_str) {
        if let Some(id) = r.strip_prefix('#') {
            let found = contained
                .into_iter()
                .flatten()
                .find(|c| c.get("id").and_then(Value::as_str) == Some(id));
            if let Some(t) = found
                .and_then(|c| c.get("resourceType"))
                .and_then(Value::as_str)
            {
                out.push(t);
            }
        } else if let Some(t) = literal_type(r) {
            out.push(t);
        }
    }
    if let Some(t) = reference.get("type").and_then(Value::as_str) {
        if let Some(t) = resource_type(t.strip_prefix(SD).unwrap_or(t)) {
            out.push(t);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::literal_type;

    #[test]
    fn literal_references() {
        assert_eq!(literal_type("Patient/123"), Some("Patient"));
        assert_eq!(
            literal_type("http://x.org/fhir/Practitioner/a.1/_history/2"),
            Some("Practitioner")
        );
        assert_eq!(literal_type("Patient?identifier=s|v"), Some("Patient"));
        assert_eq!(
            literal_type("urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0"),
            None
        );
        assert_eq!(literal_type("Unknown/1"), None);
        assert_eq!(literal_type("Patient"), None);
    }
}
