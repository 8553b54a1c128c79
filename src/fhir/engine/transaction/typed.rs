//! A walk over a resource by its R4 element types, for the transaction rule
//! that names links by type: "resource references, elements of type uri, url,
//! oid, uuid, and <a href="" & <img src="" in the narrative"
//! (http://hl7.org/fhir/R4/http.html#trules). The types come from the R4 JSON
//! Schema through the search registry (`Registry::element_type`), so choice
//! members (`valueUri`), data types at any depth, primitive extensions
//! (`_birthDate`) and contained resources are all typed as the definitions
//! say, with no list of element names here. An element the definitions do not
//! have is skipped (validation refuses it afterwards).

use fhirgate_search::Registry;
use serde_json::Value;

use crate::fhir::error::FhirError;

/// A string the transaction may have to rewrite.
pub enum Slot<'t> {
    /// `Reference.reference`.
    Reference,
    /// An element of type uri, url, oid or uuid (the type name). Not canonical:
    /// "Elements of type canonical are not replaced".
    Uri(&'t str),
    /// `Narrative.div`.
    Xhtml,
}

/// Calls `f` on every [`Slot`] of `v`, an instance of the type `ty`.
pub fn for_each(
    registry: &Registry,
    ty: &str,
    v: &mut Value,
    f: &mut dyn FnMut(Slot<'_>, &mut String) -> Result<(), FhirError>,
) -> Result<(), FhirError> {
    let Value::Object(map) = v else {
        return Ok(());
    };
    let named;
    let ty = if ty == "Resource" {
        // A contained resource: its own resourceType says what it is.
        let Some(t) = map.get("resourceType").and_then(Value::as_str) else {
            return Ok(());
        };
        named = t.to_owned();
        named.as_str()
    } else {
        ty
    };
    for (key, child) in map.iter_mut() {
        // json.html#primitive: `_name` holds the id and extensions of `name`.
        let child_ty = match key.strip_prefix('_') {
            Some(_) => Some("Element"),
            None => registry.element_type(ty, key),
        };
        if let Some(child_ty) = child_ty {
            let is_reference = ty == "Reference" && key == "reference";
            visit(registry, child_ty, is_reference, child, f)?;
        }
    }
    Ok(())
}

fn visit(
    registry: &Registry,
    ty: &str,
    is_reference: bool,
    v: &mut Value,
    f: &mut dyn FnMut(Slot<'_>, &mut String) -> Result<(), FhirError>,
) -> Result<(), FhirError> {
    match v {
        Value::Array(items) => {
            for item in items {
                visit(registry, ty, is_reference, item, f)?;
            }
            Ok(())
        }
        Value::String(s) if is_reference => f(Slot::Reference, s),
        Value::String(s) => match ty {
            "uri" | "url" | "oid" | "uuid" => f(Slot::Uri(ty), s),
            "xhtml" => f(Slot::Xhtml, s),
            _ => Ok(()),
        },
        Value::Object(_) => for_each(registry, ty, v, f),
        _ => Ok(()),
    }
}
