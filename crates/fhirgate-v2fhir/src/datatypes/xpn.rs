//! XPN -> HumanName, after
//! http://hl7.org/fhir/uv/v2mappings/ConceptMap/datatype-xpn-to-humanname:
//! XPN-1.1 family, XPN-2 and XPN-3 given, XPN-4 / XPN-6 / XPN-14 suffix, XPN-5
//! prefix, XPN-7 use (table 0200 -> name-use), XPN-10 (DR) or XPN-12/13 period.

use fhirgate_hl7::Repetition;
use serde_json::{Map, Value};

use super::{comp, period, put_str, put_strs, sub};
use crate::ctx::{At, Ctx};
use crate::error::MapError;

/// Table 0200 (name type) -> http://hl7.org/fhir/name-use (the inverse of
/// R4's ConceptMap cm-name-use-v2: D usual, L official, TEMP temp, N nickname,
/// S anonymous, M maiden; local: A alias -> usual, R registered / C adopted ->
/// official, NB newborn -> temp, BAD -> old); other codes give no `use`.
pub fn name_use(code: &str) -> Option<&'static str> {
    Some(match code.trim() {
        "A" | "D" => "usual",
        "L" | "R" | "C" => "official",
        "M" => "maiden",
        "N" => "nickname",
        "S" => "anonymous",
        "TEMP" | "NB" => "temp",
        "BAD" => "old",
        _ => return None,
    })
}

/// Component positions of the name parts: XPN and XCN lay them out differently.
pub struct Layout {
    pub family: usize,
    pub given: usize,
    pub middle: usize,
    pub suffix: usize,
    pub prefix: usize,
    pub degree: usize,
    pub name_type: usize,
    pub professional: usize,
}

pub const XPN: Layout = Layout {
    family: 1,
    given: 2,
    middle: 3,
    suffix: 4,
    prefix: 5,
    degree: 6,
    name_type: 7,
    professional: 14,
};

/// XCN-2..7, XCN-10 name type, XCN-21 professional suffix.
pub const XCN: Layout = Layout {
    family: 2,
    given: 3,
    middle: 4,
    suffix: 5,
    prefix: 6,
    degree: 7,
    name_type: 10,
    professional: 21,
};

/// The HumanName parts; None when no part is valued.
pub fn name_parts(rep: &Repetition, l: &Layout) -> Option<Map<String, Value>> {
    let mut m = Map::new();
    // FN-1 is the surname; FN-2..5 (prefixes, partner's surname) are not mapped.
    put_str(&mut m, "family", sub(rep, l.family, 1));
    put_strs(&mut m, "given", &[comp(rep, l.given), comp(rep, l.middle)]);
    put_strs(&mut m, "prefix", &[comp(rep, l.prefix)]);
    put_strs(
        &mut m,
        "suffix",
        &[
            comp(rep, l.suffix),
            comp(rep, l.degree),
            comp(rep, l.professional),
        ],
    );
    if m.is_empty() {
        return None;
    }
    if let Some(u) = name_use(comp(rep, l.name_type)) {
        m.shift_insert(0, "use".into(), Value::String(u.into()));
    }
    Some(m)
}

/// XPN -> HumanName; None when no name part is valued.
pub fn human_name(ctx: &Ctx, rep: &Repetition, at: &At) -> Result<Option<Value>, MapError> {
    let Some(mut m) = name_parts(rep, &XPN) else {
        return Ok(None);
    };
    // XPN-10 (DR, deprecated) start&end, else XPN-12 / XPN-13.
    let start = match sub(rep, 10, 1) {
        "" => ctx.date(comp(rep, 12), at, Some(12))?,
        s => ctx.date(s, at, Some(10))?,
    };
    let end = match sub(rep, 10, 2) {
        "" => ctx.date(comp(rep, 13), at, Some(13))?,
        s => ctx.date(s, at, Some(10))?,
    };
    if let Some(p) = period(start, end) {
        m.insert("period".into(), p);
    }
    Ok(Some(Value::Object(m)))
}
