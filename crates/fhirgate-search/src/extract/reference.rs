//! Reference values (search.html#reference) and literal-reference parsing
//! (references.html#literal).
use serde_json::Value;

use super::{field, Ctx};
use crate::fhirpath::Item;
use crate::model::TypeModel;
use crate::IndexValue;

/// The parts of a literal reference `[base/]Type/id[/_history/vid]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RefParts<'s> {
    pub target_type: &'s str,
    pub id: &'s str,
    pub version: Option<&'s str>,
}

/// `[A-Za-z0-9\-\.]{1,64}` (datatypes.html#id).
fn is_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// Splits a relative or absolute (http/https) RESTful reference, following
/// the regex in references.html#literal; anything else (`urn:uuid:`,
/// `#contained`, search URLs, unknown types) yields `None`.
pub(crate) fn parse_reference<'s>(s: &'s str, model: &TypeModel) -> Option<RefParts<'s>> {
    if s.contains(['?', '#']) {
        return None;
    }
    let segs: Vec<&str> = s.split('/').collect();
    let (body, version) = match segs.as_slice() {
        [body @ .., "_history", v] if body.len() >= 2 => (body, Some(*v)),
        body => (body, None),
    };
    let [prefix @ .., ty, id] = body else {
        return None;
    };
    let (ty, id) = (*ty, *id);
    if !model.is_resource(ty) || !is_id(id) || !version.is_none_or(is_id) {
        return None;
    }
    // Absolute: `http(s)://host[/path]/Type/id`.
    let prefix_ok = match prefix {
        [] => true,
        [scheme, "", host, ..] => matches!(*scheme, "http:" | "https:") && !host.is_empty(),
        _ => false,
    };
    prefix_ok.then_some(RefParts {
        target_type: ty,
        id,
        version,
    })
}

pub(super) fn reference(ctx: &Ctx<'_>, item: &Item<'_>, out: &mut Vec<IndexValue>) {
    let Item::Node { value: v, ty } = *item else {
        return;
    };
    if ctx.model.is_a(ty, "uri") {
        // canonical/uri targets are matched on the URL as written.
        if let Some(s) = v.as_str() {
            out.push(IndexValue::Reference {
                reference: Some(s.to_string()),
                target_type: None,
                target_id: None,
                version: None,
                identifier: None,
            });
        }
        return;
    }
    if !ctx.model.is_a(ty, "Reference") {
        return;
    }
    let reference = field(v, "reference");
    let identifier = v
        .get("identifier")
        .filter(|i| i.is_object())
        .map(|i| (field(i, "system"), field(i, "value")))
        .filter(|(s, val)| s.is_some() || val.is_some());
    if reference.is_none() && identifier.is_none() {
        return; // display-only references are not searchable
    }
    let parts = reference
        .as_deref()
        .and_then(|r| parse_reference(r, ctx.model));
    let target_type = match (&parts, reference.as_deref()) {
        (Some(p), _) => Some(p.target_type.to_string()),
        (None, Some(r)) if r.starts_with('#') => contained_type(ctx, r),
        _ => None,
    }
    .or_else(|| declared_type(ctx.model, v));
    out.push(IndexValue::Reference {
        target_id: parts.map(|p| p.id.to_string()),
        version: parts.and_then(|p| p.version.map(str::to_string)),
        target_type,
        reference,
        identifier,
    });
}

/// The type of a contained resource `#id` (references.html#contained).
fn contained_type(ctx: &Ctx<'_>, r: &str) -> Option<String> {
    let local = r.strip_prefix('#')?;
    let Item::Node { value: root, .. } = ctx.ev.root() else {
        return None;
    };
    root.get("contained")?
        .as_array()?
        .iter()
        .find(|c| c.get("id").and_then(Value::as_str) == Some(local))?
        .get("resourceType")?
        .as_str()
        .filter(|t| ctx.model.is_resource(t))
        .map(str::to_string)
}

/// `Reference.type`, for references whose text does not name the type
/// (logical or `urn:` references).
fn declared_type(model: &TypeModel, v: &Value) -> Option<String> {
    let t = v.get("type")?.as_str()?;
    let name = t
        .strip_prefix("http://hl7.org/fhir/StructureDefinition/")
        .unwrap_or(t);
    model.is_resource(name).then(|| name.to_string())
}
