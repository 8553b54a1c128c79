//! OBX -> Observation, after
//! http://hl7.org/fhir/uv/v2mappings/ConceptMap/segment-obx-to-observation:
//! OBX-3 code, OBX-5 value by OBX-2, OBX-6 units, OBX-7 referenceRange, OBX-8
//! interpretation, OBX-11 status, OBX-14 effective, OBX-16 performer, OBX-17
//! method, OBX-20 bodySite, OBX-21 identifier; NTE after it -> note.

use fhirgate_hl7::Repetition;
use serde_json::{json, Map, Number, Value};

use crate::bundle::Contained;
use crate::ctx::{At, Ctx, Seg};
use crate::datatypes::{comp, cwe};
use crate::error::{ErrorCode, MapError};
use crate::practitioner;
use crate::tables;

const UCUM: &str = "http://unitsofmeasure.org";

/// Common UCUM units written in their UCUM form (case-sensitive UCUM), which
/// senders use without saying "UCUM" in CWE-3.
const UCUM_UNITS: &[&str] = &[
    "%",
    "/min",
    "/h",
    "mg/dL",
    "mg/dl",
    "g/dL",
    "g/dl",
    "g/L",
    "g/l",
    "mg/L",
    "mmol/L",
    "mmol/l",
    "umol/L",
    "nmol/L",
    "pmol/L",
    "mEq/L",
    "meq/L",
    "U/L",
    "[IU]/L",
    "mU/L",
    "10*3/uL",
    "10*6/uL",
    "10*9/L",
    "10*12/L",
    "fL",
    "pg",
    "ng/mL",
    "ug/mL",
    "ug/L",
    "mL",
    "L",
    "dL",
    "kg",
    "g",
    "mg",
    "ug",
    "ng",
    "m",
    "cm",
    "mm",
    "mm[Hg]",
    "Cel",
    "[degF]",
    "s",
    "min",
    "h",
    "d",
    "wk",
    "mo",
    "a",
    "kg/m2",
    "mL/min",
    "mL/h",
    "mg/h",
    "mL/min/{1.73_m2}",
    "[pH]",
    "{ratio}",
    "1",
];

/// Group context of an OBX: subject, fallback time, category, key base.
pub struct Group {
    pub subject: Value,
    /// OBR-7, used when OBX-14 is empty.
    pub effective: Option<String>,
    /// (system, value) the OBX keys are derived from (the order number).
    pub base: (String, String),
}

/// A v2 NM as a JSON number (FHIR decimal): `+1`, `007.50`, `.5` are NM but not JSON.
pub fn decimal(s: &str) -> Option<Number> {
    let s = s.trim();
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let ok = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if !ok(int) || !ok(frac) || (int.is_empty() && frac.is_empty()) {
        return None;
    }
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let mut text = String::new();
    if neg {
        text.push('-');
    }
    text.push_str(int);
    if !frac.is_empty() {
        text.push('.');
        text.push_str(frac);
    }
    text.parse().ok()
}

/// A Quantity of `value` in the OBX-6 units (UCUM only when recognisable as such).
pub fn quantity(value: Number, units: Option<&Repetition>) -> Map<String, Value> {
    let mut q = Map::new();
    q.insert("value".into(), Value::Number(value));
    let Some(u) = units else { return q };
    let (code, display, cs) = (comp(u, 1), comp(u, 2), comp(u, 3));
    let says_ucum = cs.eq_ignore_ascii_case("UCUM") || cs == UCUM;
    let unit = if display.is_empty() { code } else { display };
    if !unit.is_empty() {
        q.insert("unit".into(), Value::String(unit.to_owned()));
    }
    if !code.is_empty() && (says_ucum || UCUM_UNITS.contains(&code)) {
        q.insert("system".into(), Value::String(UCUM.into()));
        q.insert("code".into(), Value::String(code.to_owned()));
    }
    q
}

fn number(s: &str, at: &At, component: usize) -> Result<Number, MapError> {
    decimal(s).ok_or_else(|| {
        at.err(
            ErrorCode::DataTypeError,
            Some(component),
            "is not a number (NM)",
        )
    })
}

/// SN (structured numeric, 2A.3.71): comparator, num1, separator/suffix, num2.
fn structured(
    rep: &Repetition,
    units: Option<&Repetition>,
    at: &At,
) -> Result<(String, Value), MapError> {
    let (cmp, n1, sep, n2) = (comp(rep, 1), comp(rep, 2), comp(rep, 3), comp(rep, 4));
    let q = |s: &str, c| number(s, at, c).map(|n| Value::Object(quantity(n, units)));
    match (sep, n2.is_empty()) {
        ("-", false) => Ok((
            "valueRange".into(),
            json!({ "low": q(n1, 2)?, "high": q(n2, 4)? }),
        )),
        (":" | "/", false) => Ok((
            "valueRatio".into(),
            json!({ "numerator": q(n1, 2)?, "denominator": q(n2, 4)? }),
        )),
        ("", true) => {
            let mut quantity = quantity(number(n1, at, 2)?, units);
            match cmp {
                "" | "=" => {}
                "<" | ">" | "<=" | ">=" => {
                    quantity.shift_insert(1, "comparator".into(), Value::String(cmp.into()));
                }
                // `<>` has no FHIR comparator: keep it as text.
                _ => return Ok(("valueString".into(), Value::String(format!("{cmp}{n1}")))),
            }
            Ok(("valueQuantity".into(), Value::Object(quantity)))
        }
        // A suffix (`+`) or a separator FHIR has no structure for: text.
        _ => Ok((
            "valueString".into(),
            Value::String(format!("{cmp}{n1}{sep}{n2}")),
        )),
    }
}

/// OBX-7: `low-high`, `<x`, `<=x`, `>x`, `>=x` into low/high when numeric; the text is always kept.
pub fn reference_range(text: &str, units: Option<&Repetition>) -> Option<Value> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    let mut r = Map::new();
    let q = |s: &str| decimal(s).map(|n| Value::Object(quantity(n, units)));
    if let Some(v) = t.strip_prefix("<=").or_else(|| t.strip_prefix('<')) {
        r.extend(q(v).map(|h| ("high".to_owned(), h)));
    } else if let Some(v) = t.strip_prefix(">=").or_else(|| t.strip_prefix('>')) {
        r.extend(q(v).map(|l| ("low".to_owned(), l)));
    } else if let Some(i) = t
        .char_indices()
        .skip(1)
        .find(|(_, c)| *c == '-')
        .map(|(i, _)| i)
    {
        let (lo, hi) = (t.get(..i).unwrap_or(""), t.get(i + 1..).unwrap_or(""));
        if let (Some(l), Some(h)) = (q(lo), q(hi)) {
            r.insert("low".into(), l);
            r.insert("high".into(), h);
        }
    }
    r.insert("text".into(), Value::String(t.to_owned()));
    Some(Value::Object(r))
}

/// The value[x] of an OBX by OBX-2; None when OBX-5 is empty.
fn value(ctx: &Ctx, obx: &Seg) -> Result<Option<(String, Value)>, MapError> {
    let Some((at, rep)) = obx.first(5) else {
        return Ok(None);
    };
    let units = obx.first(6).map(|(_, u)| u);
    let ty = obx.value(2);
    let v = match ty {
        "NM" => (
            "valueQuantity".into(),
            Value::Object(quantity(number(comp(rep, 1), &at, 1)?, units)),
        ),
        "ST" | "TX" | "FT" => {
            // Repetitions of a text value are its lines.
            let lines: Vec<&str> = obx.reps(5).iter().map(|(_, r)| r.get(1)).collect();
            ("valueString".into(), Value::String(lines.join("\n")))
        }
        "CE" | "CWE" | "CNE" => match cwe::codeable_concept(rep) {
            Some(cc) => ("valueCodeableConcept".into(), cc),
            None => return Ok(None),
        },
        "SN" => structured(rep, units, &at)?,
        "DT" | "TS" | "DTM" => match ctx.datetime(comp(rep, 1), &at, Some(1))? {
            Some(d) => ("valueDateTime".into(), Value::String(d)),
            None => return Ok(None),
        },
        "" => return Err(obx.missing(2)),
        // ED, RP, CP, ... : no value the gateway can store faithfully.
        _ => (
            "dataAbsentReason".into(),
            cwe::fixed(
                "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                "unsupported",
                "Unsupported",
            ),
        ),
    };
    Ok(Some(v))
}

/// OBX -> Observation (without identifier; the caller keys it). `notes` are
/// the NTE-3 texts that follow the OBX.
pub fn observation(
    ctx: &mut Ctx,
    obx: &Seg,
    group: &Group,
    notes: &[String],
) -> Result<Map<String, Value>, MapError> {
    let mut o = Map::new();
    let status = match obx.value(11) {
        // OBX-11 is required in v2; an empty one is stated as unknown rather than guessed.
        "" => "unknown",
        s => tables::observation_status(s).ok_or_else(|| {
            obx.err(
                ErrorCode::TableValueNotFound,
                11,
                "is not a table 0085 code",
            )
        })?,
    };
    o.insert("status".into(), Value::String(status.into()));
    o.insert("category".into(), laboratory());
    let code = obx
        .first(3)
        .and_then(|(_, r)| cwe::codeable_concept(r))
        .ok_or_else(|| obx.missing(3))?;
    o.insert("code".into(), code);
    o.insert("subject".into(), group.subject.clone());
    let at14 = obx.at(14, 1);
    let effective = match ctx.datetime(obx.get(14, 1), &at14, None)? {
        Some(e) => Some(e),
        None => group.effective.clone(),
    };
    if let Some(e) = effective {
        o.insert("effectiveDateTime".into(), Value::String(e));
    }
    let mut contained = Contained::default();
    let mut performers = Vec::new();
    for (_, rep) in obx.reps(16) {
        performers.extend(practitioner::reference_to(ctx, rep, &mut contained));
    }
    if !performers.is_empty() {
        o.insert("performer".into(), Value::Array(performers));
    }
    if let Some((k, v)) = value(ctx, obx)? {
        o.insert(k, v);
    }
    let interpretation: Vec<Value> = obx
        .reps(8)
        .iter()
        .filter_map(|(_, r)| match tables::interpretation(r.get(1).trim()) {
            Some(c) => Some(cwe::fixed(tables::V3_INTERPRETATION, c, r.get(2).trim())),
            None => cwe::codeable_concept(r),
        })
        .collect();
    if !interpretation.is_empty() {
        o.insert("interpretation".into(), Value::Array(interpretation));
    }
    if !notes.is_empty() {
        let notes: Vec<Value> = notes.iter().map(|n| json!({ "text": n })).collect();
        o.insert("note".into(), Value::Array(notes));
    }
    if let Some(cc) = obx.first(20).and_then(|(_, r)| cwe::codeable_concept(r)) {
        o.insert("bodySite".into(), cc);
    }
    if let Some(cc) = obx.first(17).and_then(|(_, r)| cwe::codeable_concept(r)) {
        o.insert("method".into(), cc);
    }
    let units = obx.first(6).map(|(_, u)| u);
    if let Some(rr) = reference_range(obx.value(7), units) {
        o.insert("referenceRange".into(), Value::Array(vec![rr]));
    }
    contained.attach(&mut o);
    Ok(o)
}

/// Observation.category laboratory (observation-category), which the brief fixes for ORU.
pub fn laboratory() -> Value {
    json!([{ "coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
        "code": "laboratory",
        "display": "Laboratory"
    }] }])
}

#[cfg(test)]
#[path = "obx_tests.rs"]
mod tests;
