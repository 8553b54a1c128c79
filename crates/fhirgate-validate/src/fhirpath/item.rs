//! FHIRPath collection items over `serde_json::Value`, typed by the model, and the value
//! semantics of equality (http://hl7.org/fhirpath/N1/#equality) and comparison
//! (http://hl7.org/fhirpath/N1/#comparison), dates with their precision included.

use std::borrow::Cow;
use std::cmp::Ordering;

use chrono::DateTime;
use serde_json::Value;

use crate::invariants::model::{Kind, Model, Ty, UNKNOWN};

/// An element of the resource: its JSON value and, for a primitive, the `_name` sibling that
/// carries its id and extensions (json.html#primitive). At least one of the two is present.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Node<'a> {
    pub value: Option<&'a Value>,
    pub ext: Option<&'a Value>,
    pub ty: Ty,
}

#[derive(Debug, Clone)]
pub(crate) enum Item<'a> {
    Node(Node<'a>),
    Bool(bool),
    /// A number and whether it is an Integer (else a Decimal).
    Num(f64, bool),
    Str(Cow<'a, str>),
}

pub(crate) type Coll<'a> = Vec<Item<'a>>;

/// What an item is, as a value.
pub(crate) enum Prim<'a> {
    Str(&'a str),
    Num(f64),
    Bool(bool),
    /// date, dateTime or instant text.
    Date(&'a str),
    Time(&'a str),
    Quantity(&'a Value),
    Complex(&'a Value),
    None,
}

pub(crate) fn prim<'i>(m: &Model, item: &'i Item<'_>) -> Prim<'i> {
    match item {
        Item::Bool(b) => Prim::Bool(*b),
        Item::Num(n, _) => Prim::Num(*n),
        Item::Str(s) => Prim::Str(s),
        Item::Node(n) => node_prim(m, n),
    }
}

fn node_prim<'a>(m: &Model, n: &Node<'a>) -> Prim<'a> {
    let Some(v) = n.value else {
        return Prim::None;
    };
    if let Value::Object(_) = v {
        let quantity = m.ty("Quantity");
        return if n.ty != UNKNOWN && m.is_a(n.ty, quantity) {
            Prim::Quantity(v)
        } else {
            Prim::Complex(v)
        };
    }
    match v {
        Value::Bool(b) => Prim::Bool(*b),
        Value::Number(x) => x.as_f64().map_or(Prim::None, Prim::Num),
        Value::String(s) => match m.name(n.ty) {
            "date" | "dateTime" | "instant" => Prim::Date(s),
            "time" => Prim::Time(s),
            _ => Prim::Str(s),
        },
        _ => Prim::None,
    }
}

/// `=` on two items; `None` where the spec's answer is empty (dates of different precision).
pub(crate) fn equals(m: &Model, a: &Item<'_>, b: &Item<'_>) -> Option<bool> {
    Some(match (prim(m, a), prim(m, b)) {
        (Prim::Str(x) | Prim::Time(x), Prim::Str(y) | Prim::Time(y)) => x == y,
        (Prim::Date(x), Prim::Date(y)) => return date_cmp(x, y).map(|o| o == Ordering::Equal),
        (Prim::Date(x), Prim::Str(y)) | (Prim::Str(x), Prim::Date(y)) => x == y,
        (Prim::Num(x), Prim::Num(y)) => x == y,
        (Prim::Bool(x), Prim::Bool(y)) => x == y,
        (Prim::Quantity(x) | Prim::Complex(x), Prim::Quantity(y) | Prim::Complex(y)) => x == y,
        _ => false,
    })
}

/// `~`: strings ignore case and surrounding whitespace (http://hl7.org/fhirpath/N1/#equivalence).
pub(crate) fn equivalent(m: &Model, a: &Item<'_>, b: &Item<'_>) -> bool {
    match (prim(m, a), prim(m, b)) {
        (Prim::Str(x), Prim::Str(y)) => x.trim().eq_ignore_ascii_case(y.trim()),
        _ => equals(m, a, b) == Some(true),
    }
}

/// `<` and friends; `None` where the spec's answer is empty (incomparable values, dates of
/// different precision, quantities in different units).
pub(crate) fn compare(m: &Model, a: &Item<'_>, b: &Item<'_>) -> Option<Ordering> {
    match (prim(m, a), prim(m, b)) {
        (Prim::Num(x), Prim::Num(y)) => x.partial_cmp(&y),
        (Prim::Str(x), Prim::Str(y)) | (Prim::Time(x), Prim::Time(y)) => Some(x.cmp(y)),
        (Prim::Date(x), Prim::Date(y) | Prim::Str(y)) | (Prim::Str(x), Prim::Date(y)) => {
            date_cmp(x, y)
        }
        (Prim::Quantity(x), Prim::Quantity(y)) => quantity_cmp(x, y),
        _ => None,
    }
}

/// Quantities compare when their units are the same (coded, else as written); unit
/// conversion would need UCUM, and a comparison it cannot make is empty.
fn quantity_cmp(x: &Value, y: &Value) -> Option<Ordering> {
    fn unit(q: &Value) -> (Option<&Value>, Option<&Value>) {
        match q.get("code") {
            Some(c) => (q.get("system"), Some(c)),
            None => (None, q.get("unit")),
        }
    }
    if unit(x) != unit(y) {
        return None;
    }
    let v = |q: &Value| q.get("value").and_then(Value::as_f64);
    v(x)?.partial_cmp(&v(y)?)
}

/// FHIR date/dateTime/instant comparison (http://hl7.org/fhirpath/N1/#comparison): values
/// with a time (which in R4 always has seconds and a zone) compare as instants; otherwise
/// by their date parts at the precision both have, and empty when those are equal but the
/// precisions differ.
pub(crate) fn date_cmp(x: &str, y: &str) -> Option<Ordering> {
    if x.contains('T') && y.contains('T') {
        let a = DateTime::parse_from_rfc3339(x).ok()?;
        let b = DateTime::parse_from_rfc3339(y).ok()?;
        return Some(a.cmp(&b));
    }
    let date = |s: &'_ str| -> Vec<u32> {
        s.split('T')
            .next()
            .unwrap_or("")
            .split('-')
            .filter_map(|p| p.parse().ok())
            .collect()
    };
    let (a, b) = (date(x), date(y));
    for (p, q) in a.iter().zip(&b) {
        match p.cmp(q) {
            Ordering::Equal => {}
            other => return Some(other),
        }
    }
    (a.len() == b.len() && !x.contains('T') && !y.contains('T')).then_some(Ordering::Equal)
}

/// Singleton evaluation of collections (http://hl7.org/fhirpath/N1/#singleton-evaluation-of-collections).
pub(crate) fn to_bool(c: &[Item<'_>]) -> Option<bool> {
    match c {
        [Item::Bool(b)] => Some(*b),
        [Item::Node(Node {
            value: Some(Value::Bool(b)),
            ..
        })] => Some(*b),
        [_] => Some(true),
        _ => None,
    }
}

/// The string of a singleton string-like item.
pub(crate) fn as_str<'i>(m: &Model, c: &'i [Item<'_>]) -> Option<&'i str> {
    match c {
        [item] => match prim(m, item) {
            Prim::Str(s) | Prim::Date(s) | Prim::Time(s) => Some(s),
            _ => None,
        },
        _ => None,
    }
}

/// `toString()` of a singleton primitive.
pub(crate) fn to_string<'i>(m: &Model, c: &'i [Item<'_>]) -> Option<Cow<'i, str>> {
    match c {
        [item] => match prim(m, item) {
            Prim::Str(s) | Prim::Date(s) | Prim::Time(s) => Some(Cow::Borrowed(s)),
            Prim::Bool(b) => Some(Cow::Owned(b.to_string())),
            Prim::Num(_) => match item {
                Item::Node(Node {
                    value: Some(Value::Number(n)),
                    ..
                }) => Some(Cow::Owned(n.to_string())),
                Item::Num(n, true) => Some(Cow::Owned(format!("{n:.0}"))),
                Item::Num(n, false) => Some(Cow::Owned(n.to_string())),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

/// Is `n` a primitive with a value (`hasValue()`)?
pub(crate) fn has_value(m: &Model, n: &Node<'_>) -> bool {
    let primitive = match m.kind(n.ty) {
        Some(k) => k == Kind::Primitive,
        None => !matches!(n.value, Some(Value::Object(_)) | Some(Value::Array(_))),
    };
    primitive && matches!(n.value, Some(v) if !v.is_null())
}
