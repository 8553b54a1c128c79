//! Quantity (search.html#quantity), number (search.html#number) and uri
//! (search.html#uri) values.
use serde_json::Value;

use super::field;
use crate::fhirpath::Item;
use crate::model::TypeModel;
use crate::IndexValue;

/// The decimal text exactly as written: with `arbitrary_precision`, a JSON
/// number keeps its source text, so `1.50` stays `1.50` (precision matters
/// for the implicit range of search.html#number).
fn number_text(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.as_str().to_string()),
        _ => None,
    }
}

pub(super) fn quantity(model: &TypeModel, item: &Item<'_>, out: &mut Vec<IndexValue>) {
    let Item::Node { value: v, ty } = *item else {
        return;
    };
    if model.is_a(ty, "Quantity") {
        // Age, Duration, SimpleQuantity, ... specialise Quantity.
        if let Some(value) = v.get("value").and_then(number_text) {
            out.push(IndexValue::Quantity {
                value,
                system: field(v, "system"),
                code: field(v, "code"),
                unit: field(v, "unit"),
            });
        }
    } else if ty == "Money" {
        // Money is searched as a quantity in ISO 4217 (search.html#quantity).
        if let Some(value) = v.get("value").and_then(number_text) {
            out.push(IndexValue::Quantity {
                value,
                system: Some("urn:iso:std:iso:4217".to_string()),
                code: field(v, "currency"),
                unit: None,
            });
        }
    }
    // SampledData (and Range/Ratio) carry no single comparable value: skipped.
}

pub(super) fn number(model: &TypeModel, item: &Item<'_>, out: &mut Vec<IndexValue>) {
    match *item {
        Item::Node { value, ty } if model.is_a(ty, "decimal") || model.is_a(ty, "integer") => {
            if let Some(value) = number_text(value) {
                out.push(IndexValue::Number { value });
            }
        }
        Item::Num(n) => out.push(IndexValue::Number {
            value: n.to_string(),
        }),
        _ => {}
    }
}

pub(super) fn uri(model: &TypeModel, item: &Item<'_>, out: &mut Vec<IndexValue>) {
    match *item {
        Item::Node { value, ty } if model.is_a(ty, "uri") => {
            if let Some(s) = value.as_str() {
                out.push(IndexValue::Uri(s.to_string()));
            }
        }
        Item::Str(s) => out.push(IndexValue::Uri(s.to_string())),
        _ => {}
    }
}
