//! CX -> Identifier, after
//! http://hl7.org/fhir/uv/v2mappings/ConceptMap/datatype-cx-to-identifier:
//! CX-1 value, CX-4 (HD) system (see `ids`), CX-5 type (table 0203 ->
//! http://terminology.hl7.org/CodeSystem/v2-0203), CX-7/CX-8 period, CX-4.1
//! the assigner's display (Organization is not served, so no reference).

use fhirgate_hl7::Repetition;
use serde_json::{Map, Value};

use super::{comp, period, sub};
use crate::ctx::{At, Ctx};
use crate::error::MapError;

/// THO v2-0203 identifier type codes this crate emits as codings; any other
/// CX-5 is kept as `type.text` (a code of an unknown table is not a v2-0203 code).
const TABLE_0203: &[&str] = &[
    "AM", "AN", "ANON", "BA", "BC", "BR", "BRN", "CC", "CY", "DDS", "DEA", "DFN", "DI", "DL", "DN",
    "DO", "DP", "DPM", "DR", "DS", "EI", "EN", "FI", "FILL", "GI", "GL", "GN", "HC", "IND", "JHN",
    "LI", "LN", "LR", "MA", "MB", "MC", "MCD", "MCN", "MCR", "MCT", "MD", "MI", "MR", "MRT", "MS",
    "NE", "NH", "NI", "NII", "NIIP", "NP", "NPI", "OD", "PA", "PC", "PCN", "PE", "PEN", "PI",
    "PLAC", "PN", "PNT", "PPIN", "PPN", "PRC", "PRN", "PT", "QA", "RI", "RN", "RPH", "RR", "RRI",
    "RRP", "SID", "SL", "SN", "SP", "SR", "SS", "TAX", "TN", "TPR", "U", "UPIN", "USID", "VN",
    "VP", "VS", "WC", "WCN", "WP", "XX",
];

pub const V2_0203: &str = "http://terminology.hl7.org/CodeSystem/v2-0203";

/// An identifier with its system resolved, for conditional URLs.
#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub system: String,
    pub value: String,
    pub type_code: String,
    pub json: Value,
}

/// `type` of an Identifier from a table 0203 code.
pub fn id_type(code: &str) -> Option<Value> {
    let code = code.trim();
    if code.is_empty() {
        return None;
    }
    Some(if TABLE_0203.contains(&code) {
        serde_json::json!({ "coding": [{ "system": V2_0203, "code": code }] })
    } else {
        serde_json::json!({ "text": code })
    })
}

/// Builds the Identifier JSON.
pub fn make(
    system: &str,
    value: &str,
    type_code: &str,
    assigner: &str,
    per: Option<Value>,
) -> Value {
    let mut m = Map::new();
    if let Some(t) = id_type(type_code) {
        m.insert("type".into(), t);
    }
    m.insert("system".into(), Value::String(system.to_owned()));
    m.insert("value".into(), Value::String(value.to_owned()));
    if let Some(p) = per {
        m.insert("period".into(), p);
    }
    if !assigner.is_empty() {
        m.insert(
            "assigner".into(),
            serde_json::json!({ "display": assigner }),
        );
    }
    Value::Object(m)
}

/// CX -> Identifier; None when CX-1 is empty. `kind` names the sender-scoped
/// system used when CX-4 is empty.
pub fn identifier(
    ctx: &Ctx,
    rep: &Repetition,
    at: &At,
    kind: &str,
) -> Result<Option<Ident>, MapError> {
    let value = comp(rep, 1);
    if value.is_empty() {
        return Ok(None);
    }
    let system = ctx.system(sub(rep, 4, 1), sub(rep, 4, 2), sub(rep, 4, 3), kind);
    let start = ctx.date(comp(rep, 7), at, Some(7))?;
    let end = ctx.date(comp(rep, 8), at, Some(8))?;
    let type_code = comp(rep, 5);
    // CX-2/CX-3 (check digit) are not carried: FHIR has no element for them.
    let json = make(
        &system,
        value,
        type_code,
        sub(rep, 4, 1),
        period(start, end),
    );
    Ok(Some(Ident {
        system,
        value: value.to_owned(),
        type_code: type_code.to_owned(),
        json,
    }))
}
