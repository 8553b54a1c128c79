//! Conversion of FHIRPath results to index values, by parameter type and the
//! node's FHIR type (http://hl7.org/fhir/R4/search.html §3.1.1.4.x).
pub(crate) mod date;
pub(crate) mod reference;
mod scalar;
mod token;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::fhirpath::{Evaluator, Item};
use crate::model::TypeModel;
use crate::registry::Compiled;
use crate::{IndexEntry, IndexValue, ParamType, SearchParamDef};

/// Lower bound used for an open `Period.start` (0001-01-01T00:00:00Z): the
/// earliest FHIR year, and storable in Postgres `timestamptz`.
pub const DATE_MIN: DateTime<Utc> = match DateTime::from_timestamp(-62_135_596_800, 0) {
    Some(d) => d,
    None => DateTime::<Utc>::MIN_UTC,
};

/// Upper bound used for an open `Period.end` (9999-12-31T23:59:59.999Z).
pub const DATE_MAX: DateTime<Utc> = match DateTime::from_timestamp(253_402_300_799, 999_000_000) {
    Some(d) => d,
    None => DateTime::<Utc>::MAX_UTC,
};

/// Caps the cartesian product of one composite base element, so a hostile
/// resource cannot make indexing quadratic in its size.
const MAX_COMBINATIONS: usize = 1024;

/// Past this many values per parameter, duplicates are no longer removed
/// (removal is a linear scan).
const DEDUP_LIMIT: usize = 64;

pub(crate) struct Ctx<'a> {
    pub model: &'a TypeModel,
    pub ev: Evaluator<'a>,
}

pub(crate) fn extract_all<'a>(
    model: &'a TypeModel,
    resource_type: &'a str,
    defs: &'a [SearchParamDef],
    compiled: &'a [Compiled],
    resource: &'a Value,
) -> Vec<IndexEntry> {
    let ctx = Ctx {
        model,
        ev: Evaluator::new(model, resource, resource_type),
    };
    let mut entries = Vec::new();
    let mut values = Vec::new();
    for (def, c) in defs.iter().zip(compiled) {
        // Its values are its parts' values, indexed under their names (unions.rs).
        if !def.union_of.is_empty() {
            continue;
        }
        let Some(expr) = &c.expr else { continue };
        values.clear();
        let items = ctx.ev.eval_root(expr);
        if def.param_type == ParamType::Composite {
            for base in items {
                composite(&ctx, c, base, &mut values);
            }
        } else {
            for item in &items {
                convert(&ctx, def.param_type, item, &mut values);
            }
        }
        let mut kept: Vec<IndexValue> = Vec::with_capacity(values.len());
        for v in values.drain(..) {
            if kept.len() >= DEDUP_LIMIT || !kept.contains(&v) {
                kept.push(v);
            }
        }
        entries.extend(kept.into_iter().map(|value| IndexEntry {
            param: def.code.clone(),
            value,
        }));
    }
    entries
}

/// Composite parameters pair up component values found within the same base
/// element (search.html#composite), e.g. one Observation.component's code
/// with that component's own value.
fn composite<'a>(ctx: &Ctx<'a>, c: &'a Compiled, base: Item<'a>, out: &mut Vec<IndexValue>) {
    let mut combos: Vec<Vec<IndexValue>> = vec![Vec::new()];
    for comp in &c.components {
        let mut vals = Vec::new();
        for item in ctx.ev.eval_on(&comp.expr, base) {
            convert(ctx, comp.param_type, &item, &mut vals);
        }
        if vals.is_empty() {
            return; // a combination needs every component
        }
        let mut next = Vec::new();
        'outer: for prefix in &combos {
            for v in &vals {
                if next.len() >= MAX_COMBINATIONS {
                    break 'outer;
                }
                let mut p = prefix.clone();
                p.push(v.clone());
                next.push(p);
            }
        }
        combos = next;
    }
    if c.components.is_empty() {
        return;
    }
    out.extend(combos.into_iter().map(IndexValue::Composite));
}

/// Converts one node according to the parameter type; nodes of types the
/// parameter type does not cover contribute nothing.
pub(crate) fn convert(ctx: &Ctx<'_>, pt: ParamType, item: &Item<'_>, out: &mut Vec<IndexValue>) {
    match pt {
        ParamType::Token => token::token(ctx.model, item, out),
        ParamType::String => token::string(ctx.model, item, out),
        ParamType::Date => date::date(ctx.model, item, out),
        ParamType::Reference => reference::reference(ctx, item, out),
        ParamType::Quantity => scalar::quantity(ctx.model, item, out),
        ParamType::Number => scalar::number(ctx.model, item, out),
        ParamType::Uri => scalar::uri(ctx.model, item, out),
        ParamType::Composite | ParamType::Special => {}
    }
}

/// A string-valued property of a JSON object.
pub(crate) fn field(obj: &Value, name: &str) -> Option<String> {
    obj.get(name).and_then(Value::as_str).map(str::to_string)
}

/// String members of a string-array property (nulls in padded arrays skipped).
pub(crate) fn str_items<'v>(obj: &'v Value, name: &str) -> impl Iterator<Item = &'v str> {
    let v = obj.get(name);
    let single = v.and_then(Value::as_str);
    let many = v.and_then(Value::as_array).into_iter().flatten();
    single.into_iter().chain(many.filter_map(Value::as_str))
}
