//! XAD -> Address, after
//! http://hl7.org/fhir/uv/v2mappings/ConceptMap/datatype-xad-to-address:
//! XAD-1.1 and XAD-2 lines, XAD-3 city, XAD-4 state, XAD-5 postal code, XAD-6
//! country, XAD-9 district, XAD-7 use/type (table 0190), XAD-12 (DR) or
//! XAD-13/14 period.

use fhirgate_hl7::Repetition;
use serde_json::{Map, Value};

use super::{comp, period, put_str, put_strs, sub};
use crate::ctx::{At, Ctx};
use crate::error::MapError;

/// Table 0190 (address type) -> (Address.use, Address.type), after the IG's
/// ConceptMap table-hl70190-to-address-use / -type.
fn use_and_type(code: &str) -> (&'static str, &'static str) {
    match code.trim() {
        "H" | "P" | "RH" => ("home", ""),
        "B" | "O" => ("work", ""),
        "C" | "V" => ("temp", ""),
        "BA" => ("old", ""),
        "BI" => ("billing", ""),
        "M" | "SH" => ("", "postal"),
        _ => ("", ""),
    }
}

/// XAD -> Address; None when nothing is valued.
pub fn address(ctx: &Ctx, rep: &Repetition, at: &At) -> Result<Option<Value>, MapError> {
    let mut m = Map::new();
    let (u, t) = use_and_type(comp(rep, 7));
    put_str(&mut m, "use", u);
    put_str(&mut m, "type", t);
    put_strs(&mut m, "line", &[sub(rep, 1, 1), comp(rep, 2)]);
    put_str(&mut m, "city", comp(rep, 3));
    put_str(&mut m, "district", comp(rep, 9));
    put_str(&mut m, "state", comp(rep, 4));
    put_str(&mut m, "postalCode", comp(rep, 5));
    put_str(&mut m, "country", comp(rep, 6));
    let has_content = m.keys().any(|k| k != "use" && k != "type");
    if !has_content {
        return Ok(None);
    }
    let start = match sub(rep, 12, 1) {
        "" => ctx.date(comp(rep, 13), at, Some(13))?,
        s => ctx.date(s, at, Some(12))?,
    };
    let end = match sub(rep, 12, 2) {
        "" => ctx.date(comp(rep, 14), at, Some(14))?,
        s => ctx.date(s, at, Some(12))?,
    };
    if let Some(p) = period(start, end) {
        m.insert("period".into(), p);
    }
    Ok(Some(Value::Object(m)))
}
