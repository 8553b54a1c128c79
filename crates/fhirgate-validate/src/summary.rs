//! The `_summary` and `_elements` result parameters (http://hl7.org/fhir/R4/search.html#summary,
//! http://hl7.org/fhir/R4/search.html#elements), as pure filters over a resource's JSON.
//!
//! Both work on the top-level elements only, from the base definitions in
//! `summary_table.rs` (generated from the R4 StructureDefinitions):
//! - `_summary=true` keeps the elements marked `isSummary`. A kept complex element is returned
//!   whole, non-summary children included: search.html lets a server return more than asked
//!   ("servers are not obliged to return just a summary"), and filtering inside data types
//!   and backbone elements would need the definitions of every nested type. Modifier elements
//!   are kept too: ElementDefinition.isSummary says a root modifier "must be marked as
//!   isSummary=true", yet R4 marks `modifierExtension` `isSummary=false`; search.html leaves
//!   extensions in summaries open ("There is some question about the inclusion of extensions
//!   in the summary"), and a reader that never sees a modifier extension would misread the
//!   rest of the resource. Mandatory elements that R4 does not mark as summary
//!   (Appointment.participant, AuditEvent.agent and AuditEvent.source) are left out, as the
//!   definitions say; the SUBSETTED tag tells the client the resource is incomplete.
//! - `_summary=text` keeps `text`, `id`, `meta` and the top-level mandatory elements.
//! - `_summary=data` removes `text`.
//! - `_elements=a,b` keeps the named elements plus the mandatory ones ("Servers SHOULD always
//!   return mandatory elements whether they are requested or not").
//!
//! `resourceType` always stays, and a primitive's extension sibling (`_birthDate`) goes with
//! its element. When anything was removed the resource gets the `SUBSETTED` tag, which
//! search.html asks for "to ensure that the incomplete resource is not accidentally used to
//! overwrite a complete resource".

use serde_json::{json, Map, Value};

use crate::summary_table::{self, Element};

/// Code system of the SUBSETTED tag (http://hl7.org/fhir/R4/v3/ObservationValue/cs.html).
pub const SUBSETTED_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue";
/// The tag code marking a resource as incomplete (http://hl7.org/fhir/R4/search.html#summary).
pub const SUBSETTED_CODE: &str = "SUBSETTED";

/// A `_summary` value other than `count`, which is the caller's (it returns no resources).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Summary {
    /// Only the elements marked as summary in the base definition.
    True,
    /// `text`, `id`, `meta` and the top-level mandatory elements.
    Text,
    /// Everything but `text`.
    Data,
    /// Everything.
    False,
}

impl Summary {
    /// Parse a `_summary` value. `count` and anything unknown give `None`.
    pub fn parse(s: &str) -> Option<Summary> {
        match s {
            "true" => Some(Summary::True),
            "text" => Some(Summary::Text),
            "data" => Some(Summary::Data),
            "false" => Some(Summary::False),
            _ => None,
        }
    }
}

/// Filter `body`, a resource of `resource_type`, in place for `_summary=mode`.
///
/// Returns true when elements were removed; the resource then carries the SUBSETTED tag in
/// `meta.tag`. `data` and `false` work for any type; `true` and `text` need the type's
/// definitions and leave a type outside the table (or a non-object body) unchanged.
pub fn apply_summary(resource_type: &str, body: &mut Value, mode: Summary) -> bool {
    match mode {
        Summary::False => false,
        Summary::Data => filter(body, |key, _| key != "text"),
        Summary::True => match summary_table::elements(resource_type) {
            Some(table) => filter(body, |key, property| {
                key == "resourceType" || lookup(table, property).is_some_and(in_summary)
            }),
            None => false,
        },
        Summary::Text => match summary_table::elements(resource_type) {
            Some(table) => filter(body, |key, property| {
                key == "resourceType"
                    || lookup(table, property)
                        .is_some_and(|e| e.mandatory || matches!(e.name, "text" | "id" | "meta"))
            }),
            None => false,
        },
    }
}

/// Filter `body`, a resource of `resource_type`, in place for `_elements`.
///
/// Keeps the listed top-level elements (a choice by its base name: `value` keeps
/// `valueQuantity`; the name of one of its properties, `valueQuantity`, keeps just that one),
/// the mandatory elements, `resourceType`, `id` and `meta`. Unknown names are ignored. Returns
/// true when elements were removed (the resource is then tagged SUBSETTED). A type outside the
/// table, or a non-object body, is left unchanged.
pub fn apply_elements(resource_type: &str, body: &mut Value, elements: &[&str]) -> bool {
    let Some(table) = summary_table::elements(resource_type) else {
        return false;
    };
    let requested: Vec<&str> = elements.iter().map(|e| e.trim()).collect();
    filter(body, |key, property| {
        key == "resourceType"
            || lookup(table, property).is_some_and(|e| {
                e.mandatory
                    || matches!(e.name, "id" | "meta")
                    || requested.contains(&e.name)
                    || requested.contains(&property)
            })
    })
}

/// Kept by `_summary=true`: summary elements, and modifiers (see the module comment).
fn in_summary(element: &Element) -> bool {
    element.summary || element.modifier
}

/// The element a JSON property belongs to.
fn lookup<'t>(table: &'t [Element], property: &str) -> Option<&'t Element> {
    table.iter().find(|e| e.json.contains(&property))
}

/// Keep the top-level properties for which `keep(key, property)` holds, where `property` is
/// the key without the `_` of a primitive's extension sibling, so both go together
/// (http://hl7.org/fhir/R4/json.html#primitive). Tags the resource SUBSETTED when anything
/// went.
fn filter(body: &mut Value, keep: impl Fn(&str, &str) -> bool) -> bool {
    let Value::Object(object) = body else {
        return false;
    };
    let before = object.len();
    object.retain(|key, _| keep(key, key.strip_prefix('_').unwrap_or(key)));
    let removed = object.len() < before;
    if removed {
        mark_subsetted(object);
    }
    removed
}

/// Add the SUBSETTED tag to `meta.tag` unless it is there already. A new `meta` goes after
/// `id`, where FHIR's own serializers put it (object order is not significant in JSON, but
/// readers expect it).
fn mark_subsetted(object: &mut Map<String, Value>) {
    if !object.contains_key("meta") {
        let old = std::mem::take(object);
        let after = if old.contains_key("id") {
            "id"
        } else {
            "resourceType"
        };
        for (key, value) in old {
            let place_meta = key == after;
            object.insert(key, value);
            if place_meta {
                object.insert("meta".to_owned(), Value::Object(Map::new()));
            }
        }
    }
    let meta = object
        .entry("meta")
        .or_insert_with(|| Value::Object(Map::new()));
    // A non-object meta cannot have come through validation; leave it alone.
    let Value::Object(meta) = meta else { return };
    let tags = meta
        .entry("tag")
        .or_insert_with(|| Value::Array(Vec::new()));
    let Value::Array(tags) = tags else { return };
    let present = tags.iter().any(|t| {
        t.get("system").and_then(Value::as_str) == Some(SUBSETTED_SYSTEM)
            && t.get("code").and_then(Value::as_str) == Some(SUBSETTED_CODE)
    });
    if !present {
        tags.push(json!({ "system": SUBSETTED_SYSTEM, "code": SUBSETTED_CODE }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every type in the table has the Resource elements, and every mandatory element is
    /// named by `_summary=text` and `_elements`: the table is what those modes rely on.
    #[test]
    fn table_covers_served_types() {
        for t in [
            "Patient",
            "Practitioner",
            "Observation",
            "Appointment",
            "MedicationRequest",
            "AuditEvent",
            "OperationOutcome",
            "Bundle",
        ] {
            let table = summary_table::elements(t);
            assert!(table.is_some(), "{t}");
            let table = table.unwrap_or_default();
            for name in ["id", "meta", "implicitRules", "language"] {
                assert!(table.iter().any(|e| e.name == name), "{t}.{name}");
            }
        }
        assert!(summary_table::elements("Encounter").is_none());
    }

    #[test]
    fn lookup_matches_choice_properties_only() {
        let table = summary_table::elements("Observation").unwrap_or_default();
        assert_eq!(
            lookup(table, "valueQuantity").map(|e| e.name),
            Some("value")
        );
        assert_eq!(lookup(table, "value").map(|e| e.name), None);
        assert_eq!(lookup(table, "status").map(|e| e.name), Some("status"));
    }
}
