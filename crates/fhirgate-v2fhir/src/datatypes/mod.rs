//! HL7 v2 data types to FHIR data types, after the IG's data type maps
//! (http://hl7.org/fhir/uv/v2mappings/datatype_maps.html).

pub mod cwe;
pub mod cx;
pub mod xad;
pub mod xcn;
pub mod xpn;
pub mod xtn;

use fhirgate_hl7::Repetition;
use serde_json::{Map, Value};

/// Component `n`, subcomponent `k` of a repetition, trimmed; `""` when absent.
pub fn sub(rep: &Repetition, n: usize, k: usize) -> &str {
    rep.component(n).map_or("", |c| c.sub(k)).trim()
}

/// Component `n` (first subcomponent), trimmed.
pub fn comp(rep: &Repetition, n: usize) -> &str {
    rep.get(n).trim()
}

/// Sets `key` to a string when it is not empty (FHIR forbids empty strings).
pub fn put_str(m: &mut Map<String, Value>, key: &str, v: &str) {
    let v = v.trim();
    if !v.is_empty() {
        m.insert(key.into(), Value::String(v.to_owned()));
    }
}

/// Sets `key` to an array of the non-empty strings, when there is any.
pub fn put_strs(m: &mut Map<String, Value>, key: &str, vs: &[&str]) {
    let items: Vec<Value> = vs
        .iter()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .map(|v| Value::String(v.to_owned()))
        .collect();
    if !items.is_empty() {
        m.insert(key.into(), Value::Array(items));
    }
}

/// A Period from optional start and end, None when both are absent.
pub fn period(start: Option<String>, end: Option<String>) -> Option<Value> {
    let mut p = Map::new();
    if let Some(s) = start {
        p.insert("start".into(), Value::String(s));
    }
    if let Some(e) = end {
        p.insert("end".into(), Value::String(e));
    }
    (!p.is_empty()).then_some(Value::Object(p))
}
