//! Reference rewriting inside a transaction (http://hl7.org/fhir/R4/http.html#trules,
//! bundle.html#references): `fullUrl`s of entries (`urn:uuid:`, `urn:oid:`, or any
//! other) become the `Type/id` the server assigned, and conditional references
//! (`Patient?identifier=sys|val`) the one resource they match.

use std::collections::HashMap;

use serde_json::Value;

use crate::fhir::error::FhirError;
use crate::model::ResourceType;

/// A reference that is a search (`Type?params`) on a served type.
pub fn conditional(reference: &str) -> Option<(ResourceType, &str)> {
    let (t, q) = reference.split_once('?')?;
    if t.contains('/') || t.contains(':') {
        return None;
    }
    ResourceType::parse(t).map(|t| (t, q))
}

/// Rewrites every `reference` in `v`, at any depth (extensions, contained
/// resources, backbone elements): mapped fullUrls to their `Type/id`, and
/// conditional references through `resolve`.
pub fn rewrite(
    v: &mut Value,
    mapped: &HashMap<String, String>,
    resolve: &mut dyn FnMut(ResourceType, &str) -> Result<String, FhirError>,
) -> Result<(), FhirError> {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if k == "reference" {
                    if let Value::String(s) = child {
                        if let Some(to) = mapped.get(s.as_str()) {
                            *s = to.clone();
                        } else if s.starts_with("urn:uuid:") || s.starts_with("urn:oid:") {
                            // A urn names a Bundle entry or nothing (bundle.html#references);
                            // storing it would leave a reference no reader can follow.
                            return Err(FhirError::invalid(
                                fhirgate_validate::IssueCode::Invalid,
                                None,
                                format!("the reference {s} names no entry of this Bundle"),
                            ));
                        } else if let Some((t, q)) = conditional(s) {
                            let q = q.to_owned();
                            *s = resolve(t, &q)?;
                        }
                        continue;
                    }
                }
                rewrite(child, mapped, resolve)?;
            }
        }
        Value::Array(items) => {
            for item in items {
                rewrite(item, mapped, resolve)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Every `Type?query` reference in `v`, at any depth: what [`rewrite`] will
/// resolve (the transaction looks them all up beforehand, lookups.rs).
pub fn conditional_references(v: &Value, out: &mut Vec<(ResourceType, String)>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                match child {
                    Value::String(s) if k == "reference" => {
                        if let Some((t, q)) = conditional(s) {
                            out.push((t, q.to_owned()));
                        }
                    }
                    _ => conditional_references(child, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| conditional_references(i, out)),
        _ => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rewrites_at_any_depth_and_resolves_conditionals() {
        let mut v = json!({
            "subject": {"reference": "urn:uuid:1"},
            "extension": [{"url": "x", "valueReference": {"reference": "urn:uuid:1"}}],
            "contained": [{"resourceType": "Observation", "performer": [{"reference": "Practitioner?identifier=a|b"}]}],
            "note": [{"text": "urn:uuid:1"}]
        });
        let mapped = HashMap::from([("urn:uuid:1".to_owned(), "Patient/p1".to_owned())]);
        let mut found = Vec::new();
        conditional_references(&v, &mut found);
        assert_eq!(
            found,
            vec![(ResourceType::Practitioner, "identifier=a|b".to_owned())]
        );
        let mut seen = Vec::new();
        rewrite(&mut v, &mapped, &mut |t, q| {
            seen.push((t, q.to_owned()));
            Ok("Practitioner/d1".into())
        })
        .unwrap();
        assert_eq!(v["subject"]["reference"], "Patient/p1");
        assert_eq!(
            v["extension"][0]["valueReference"]["reference"],
            "Patient/p1"
        );
        assert_eq!(
            v["contained"][0]["performer"][0]["reference"],
            "Practitioner/d1"
        );
        assert_eq!(v["note"][0]["text"], "urn:uuid:1");
        assert_eq!(
            seen,
            vec![(ResourceType::Practitioner, "identifier=a|b".to_owned())]
        );
        assert!(conditional("http://x/Patient?a=b").is_none());
        let mut dangling = json!({"subject": {"reference": "urn:uuid:2"}});
        assert!(rewrite(&mut dangling, &mapped, &mut |_, _| Ok(String::new())).is_err());
        assert!(conditional("Encounter?a=b").is_none());
    }
}
