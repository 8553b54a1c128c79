//! XTN -> ContactPoint, after
//! http://hl7.org/fhir/uv/v2mappings/ConceptMap/datatype-xtn-to-contactpoint:
//! XTN-3 system (table 0202), XTN-2 use (table 0201), the value from XTN-4 for
//! e-mail, else XTN-12 (unformatted number), else XTN-5..8 composed, else
//! XTN-1; XTN-13/14 period, XTN-18 rank.

use fhirgate_hl7::Repetition;
use serde_json::{Map, Value};

use super::{comp, period, put_str};
use crate::ctx::{At, Ctx};
use crate::error::MapError;

/// ContactPoint.use when XTN-2 is empty: PID-13 is the home number, PID-14 work.
#[derive(Clone, Copy)]
pub enum DefaultUse {
    Home,
    Work,
}

/// XTN -> ContactPoint; None when there is no value.
pub fn contact_point(
    ctx: &Ctx,
    rep: &Repetition,
    at: &At,
    default_use: DefaultUse,
) -> Result<Option<Value>, MapError> {
    let equipment = comp(rep, 3);
    let email = matches!(equipment, "Internet" | "X.400") || comp(rep, 2) == "NET";
    let value = if email {
        match comp(rep, 4) {
            "" => comp(rep, 1).to_owned(),
            e => e.to_owned(),
        }
    } else if !comp(rep, 12).is_empty() {
        comp(rep, 12).to_owned()
    } else if !comp(rep, 7).is_empty() {
        let mut v = String::new();
        if !comp(rep, 5).is_empty() {
            v.push_str(&format!("+{} ", comp(rep, 5)));
        }
        if !comp(rep, 6).is_empty() {
            v.push_str(&format!("({}) ", comp(rep, 6)));
        }
        v.push_str(comp(rep, 7));
        if !comp(rep, 8).is_empty() {
            v.push_str(&format!(" ext. {}", comp(rep, 8)));
        }
        v
    } else if !comp(rep, 1).is_empty() {
        comp(rep, 1).to_owned()
    } else {
        comp(rep, 4).to_owned()
    };
    if value.is_empty() {
        return Ok(None);
    }
    let system = if email {
        "email"
    } else {
        match equipment {
            "PH" | "CP" | "SAT" => "phone",
            "FX" => "fax",
            "BP" => "pager",
            "MD" | "TDD" | "TTY" => "other",
            // cpt-2: a value needs a system; an unknown equipment is most often a phone.
            _ if value.contains('@') => "email",
            _ => "phone",
        }
    };
    let use_ = match (comp(rep, 2), equipment) {
        ("PRN" | "ORN", _) => "home",
        ("WPN", _) => "work",
        ("VHN", _) => "temp",
        ("PRS", _) | (_, "CP") => "mobile",
        _ => match default_use {
            DefaultUse::Home => "home",
            DefaultUse::Work => "work",
        },
    };
    let mut m = Map::new();
    m.insert("system".into(), Value::String(system.into()));
    m.insert("value".into(), Value::String(value));
    put_str(&mut m, "use", use_);
    if let Ok(rank) = comp(rep, 18).parse::<u32>() {
        if rank > 0 {
            m.insert("rank".into(), Value::from(rank));
        }
    }
    let start = ctx.datetime(comp(rep, 13), at, Some(13))?;
    let end = ctx.datetime(comp(rep, 14), at, Some(14))?;
    if let Some(p) = period(start, end) {
        m.insert("period".into(), p);
    }
    Ok(Some(Value::Object(m)))
}
