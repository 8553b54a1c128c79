//! FHIRPath collection items and the value semantics of equality, union
//! and boolean evaluation.
use std::collections::HashSet;

use serde_json::Value;

use super::parser::TypeSpec;

/// One item of a FHIRPath collection.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Item<'a> {
    /// An element or resource of the indexed JSON, with its FHIR type.
    Node {
        value: &'a Value,
        ty: &'a str,
    },
    Bool(bool),
    Str(&'a str),
    Num(&'a str),
    /// What `resolve()` yields for a non-contained reference: the server
    /// cannot fetch the target while indexing, but its type is known from the
    /// reference itself, which is all `resolve() is T` needs.
    Resolved(&'a str),
}

impl<'a> Item<'a> {
    pub(crate) fn type_name(&self) -> &'a str {
        match self {
            Item::Node { ty, .. } => ty,
            Item::Bool(_) => "boolean",
            Item::Str(_) => "string",
            Item::Num(n) if n.contains('.') => "decimal",
            Item::Num(_) => "integer",
            Item::Resolved(t) => t,
        }
    }
}

pub(crate) type Coll<'a> = Vec<Item<'a>>;

/// FHIRPath System types map onto the FHIR primitives that carry them
/// (fhirpath.html#types); the R4 `Observation-code-value-date` component is
/// written `value.ofType(DateTime)`, so this mapping is load-bearing.
pub(super) fn canonical_type(ts: &TypeSpec) -> &str {
    let system = ts.namespace.as_deref() == Some("System");
    match ts.name.as_str() {
        "Boolean" => "boolean",
        "String" => "string",
        "Integer" => "integer",
        "Decimal" => "decimal",
        "Date" => "date",
        "DateTime" => "dateTime",
        "Time" => "time",
        "Quantity" if system => "Quantity",
        other => other,
    }
}

/// Singleton evaluation of collections (fhirpath.html#singleton-evaluation-of-collections).
pub(super) fn to_bool(c: &[Item<'_>]) -> Option<bool> {
    match c {
        [Item::Bool(b)] => Some(*b),
        [Item::Node {
            value: Value::Bool(b),
            ..
        }] => Some(*b),
        [_] => Some(true),
        _ => None,
    }
}

enum Prim<'a> {
    S(&'a str),
    B(bool),
    N(&'a str),
    Complex(&'a Value),
    Type(&'a str),
}

fn prim<'a>(i: &Item<'a>) -> Prim<'a> {
    match *i {
        Item::Node { value, .. } => match value {
            Value::String(s) => Prim::S(s),
            Value::Bool(b) => Prim::B(*b),
            Value::Number(n) => Prim::N(n.as_str()),
            other => Prim::Complex(other),
        },
        Item::Bool(b) => Prim::B(b),
        Item::Str(s) => Prim::S(s),
        Item::Num(n) => Prim::N(n),
        Item::Resolved(t) => Prim::Type(t),
    }
}

/// Equality of two items (fhirpath.html#equals): values of different
/// kinds are simply unequal.
pub(super) fn item_eq(a: &Item<'_>, b: &Item<'_>) -> bool {
    match (prim(a), prim(b)) {
        (Prim::S(x), Prim::S(y)) => x == y,
        (Prim::B(x), Prim::B(y)) => x == y,
        (Prim::N(x), Prim::N(y)) => match (x.parse::<f64>(), y.parse::<f64>()) {
            (Ok(p), Ok(q)) => p == q,
            _ => x == y,
        },
        (Prim::Complex(x), Prim::Complex(y)) => x == y,
        (Prim::Type(x), Prim::Type(y)) => x == y,
        _ => false,
    }
}

fn same_item(a: &Item<'_>, b: &Item<'_>) -> bool {
    match (a, b) {
        (Item::Node { value: x, ty: s }, Item::Node { value: y, ty: t }) => {
            std::ptr::eq(*x, *y) && s == t
        }
        (Item::Node { .. }, _) | (_, Item::Node { .. }) => false,
        _ => item_eq(a, b),
    }
}

/// `|` merges without duplicates (fhirpath.html#union-collections). Large
/// collections are deduplicated by node identity through a hash set so that
/// a hostile resource cannot make this quadratic.
pub(super) fn union_into<'a>(out: &mut Coll<'a>, right: Coll<'a>) {
    if out.len() + right.len() <= 32 {
        for item in right {
            if !out.iter().any(|o| same_item(o, &item)) {
                out.push(item);
            }
        }
        return;
    }
    let node_key = |i: &Item<'a>| match i {
        Item::Node { value, ty } => Some((std::ptr::from_ref::<Value>(value), *ty)),
        _ => None,
    };
    let mut seen: HashSet<(*const Value, &str)> = out.iter().filter_map(node_key).collect();
    for item in right {
        let fresh = match node_key(&item) {
            Some(k) => seen.insert(k),
            None => !out.iter().any(|o| same_item(o, &item)),
        };
        if fresh {
            out.push(item);
        }
    }
}
