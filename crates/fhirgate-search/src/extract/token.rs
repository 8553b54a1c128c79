//! Token (search.html#token) and string (search.html#string) values.
use serde_json::Value;

use super::{field, str_items};
use crate::fhirpath::Item;
use crate::model::TypeModel;
use crate::IndexValue;

fn tok(system: Option<String>, code: Option<String>, text: Option<String>) -> IndexValue {
    IndexValue::Token { system, code, text }
}

/// Primitive FHIR types whose JSON string is a token code / string value.
fn is_stringish(model: &TypeModel, ty: &str) -> bool {
    model.is_a(ty, "string") || model.is_a(ty, "uri")
}

pub(super) fn token(model: &TypeModel, item: &Item<'_>, out: &mut Vec<IndexValue>) {
    let (v, ty) = match *item {
        Item::Node { value, ty } => (value, ty),
        // The boolean result of e.g. Patient-deceased's expression.
        Item::Bool(b) => return out.push(tok(None, Some(b.to_string()), None)),
        Item::Str(s) => return out.push(tok(None, Some(s.to_string()), None)),
        Item::Num(_) | Item::Resolved(_) => return,
    };
    match ty {
        "CodeableConcept" => codeable_concept(v, out),
        "Coding" => coding(v, None, out),
        "Identifier" => {
            // Identifier: system|value; `:text` matches Identifier.type.text.
            let (system, value) = (field(v, "system"), field(v, "value"));
            if system.is_some() || value.is_some() {
                let text = v.get("type").and_then(|t| field(t, "text"));
                out.push(tok(system, value, text));
            }
        }
        "ContactPoint" => {
            // search.html#token: "ContactPoint ... the token matches the value".
            if let Some(value) = field(v, "value") {
                out.push(tok(None, Some(value), None));
            }
        }
        "boolean" => {
            if let Some(b) = v.as_bool() {
                out.push(tok(None, Some(b.to_string()), None));
            }
        }
        t if is_stringish(model, t) => {
            if let Some(s) = v.as_str() {
                out.push(tok(None, Some(s.to_string()), None));
            }
        }
        _ => {}
    }
}

/// One token per coding, carrying the concept's text for `:text`; a concept
/// with only text still yields a text-only token.
fn codeable_concept(v: &Value, out: &mut Vec<IndexValue>) {
    let text = field(v, "text");
    let before = out.len();
    if let Some(codings) = v.get("coding").and_then(Value::as_array) {
        for c in codings {
            coding(c, text.as_deref(), out);
        }
    }
    if out.len() == before {
        if let Some(t) = text {
            out.push(tok(None, None, Some(t)));
        }
    }
}

/// A Coding: system|code, with text = the concept's text and the coding's
/// display, both (search.html#modifiers: `:text` searches "either
/// CodeableConcept.text, Coding.display, or Identifier.type.text").
fn coding(c: &Value, concept_text: Option<&str>, out: &mut Vec<IndexValue>) {
    let (system, code) = (field(c, "system"), field(c, "code"));
    let text = match (concept_text, field(c, "display")) {
        (Some(t), Some(d)) if t != d => Some(format!("{t} {d}")),
        (Some(t), _) => Some(t.to_string()),
        (None, d) => d,
    };
    if system.is_some() || code.is_some() {
        out.push(tok(system, code, text));
    } else if concept_text.is_none() {
        if let Some(display) = text {
            out.push(tok(None, None, Some(display)));
        }
    }
}

pub(super) fn string(model: &TypeModel, item: &Item<'_>, out: &mut Vec<IndexValue>) {
    let (v, ty) = match *item {
        Item::Node { value, ty } => (value, ty),
        Item::Str(s) => return out.push(IndexValue::String(s.to_string())),
        _ => return,
    };
    let mut push = |s: &str| out.push(IndexValue::String(s.to_string()));
    match ty {
        // search.html#string: a HumanName/Address matches on any of its parts.
        "HumanName" => {
            for name in ["family", "given", "prefix", "suffix", "text"] {
                str_items(v, name).for_each(&mut push);
            }
        }
        "Address" => {
            let parts = [
                "line",
                "city",
                "district",
                "state",
                "postalCode",
                "country",
                "text",
            ];
            for name in parts {
                str_items(v, name).for_each(&mut push);
            }
        }
        t if is_stringish(model, t) => {
            if let Some(s) = v.as_str() {
                push(s);
            }
        }
        _ => {}
    }
}
