//! PID (+ PD1) -> Patient, after
//! http://hl7.org/fhir/uv/v2mappings/ConceptMap/segment-pid-to-patient and
//! segment-pd1-to-patient.
//!
//! The Patient's key (the identifier of its conditional URL) is the first PID-3
//! repetition of type MR, else the first valued PID-3 repetition.

use serde_json::{json, Map, Value};

use crate::bundle::{Contained, Method};
use crate::ctx::{Ctx, Seg};
use crate::datatypes::cx::{self, Ident};
use crate::datatypes::xtn::DefaultUse;
use crate::datatypes::{cwe, put_str, xad, xpn, xtn};
use crate::error::{ErrorCode, MapError};
use crate::merge::Merge;
use crate::practitioner;
use crate::tables;

const BIRTH_TIME: &str = "http://hl7.org/fhir/StructureDefinition/patient-birthTime";
const MAIDEN: &str = "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName";

pub struct MappedPatient {
    pub key: Ident,
    pub resource: Map<String, Value>,
}

/// Adds the patient of `pid` to the Bundle, returns its fullUrl.
pub fn add(
    ctx: &mut Ctx,
    pid: &Seg,
    pd1: Option<&Seg>,
    method: Method,
) -> Result<String, MapError> {
    let p = map(ctx, pid, pd1)?;
    let url = ctx
        .bundle
        .add("Patient", &p.key.system, &p.key.value, method, p.resource);
    if method == Method::Put {
        ctx.bundle.set_merge(&url, Merge::KeepLinks);
    }
    Ok(url)
}

fn identifiers(ctx: &Ctx, pid: &Seg) -> Result<(Option<Ident>, Vec<Value>), MapError> {
    let mut key: Option<Ident> = None;
    let mut all: Vec<Ident> = Vec::new();
    // PID-3 first (it holds the key), then PID-2 and PID-4 (deprecated aliases).
    for field in [3, 2, 4] {
        for (at, rep) in pid.reps(field) {
            let Some(id) = cx::identifier(ctx, rep, &at, "patient")? else {
                continue;
            };
            if field == 3
                && (key.is_none()
                    || (id.type_code == "MR" && key.as_ref().is_some_and(|k| k.type_code != "MR")))
            {
                key = Some(id.clone());
            }
            all.push(id);
        }
    }
    // PID-19 SSN (ST) and PID-20 driver's licence (DLN: number, issuing state, expiry).
    let ssn = pid.value(19);
    if !ssn.is_empty() {
        all.push(Ident {
            json: cx::make("http://hl7.org/fhir/sid/us-ssn", ssn, "SS", "", None),
            system: "http://hl7.org/fhir/sid/us-ssn".into(),
            value: ssn.into(),
            type_code: "SS".into(),
        });
    }
    let dl = pid.get(20, 1);
    if !dl.is_empty() {
        let system = ctx.system(pid.get(20, 2), "", "", "driver-licence");
        let at = pid.at(20, 1);
        let end = ctx.date(pid.get(20, 3), &at, Some(3))?;
        let per = end.map(|e| json!({ "end": e }));
        all.push(Ident {
            json: cx::make(&system, dl, "DL", "", per),
            system,
            value: dl.into(),
            type_code: "DL".into(),
        });
    }
    let mut seen = std::collections::HashSet::new();
    let json = all
        .into_iter()
        .filter(|i| seen.insert((i.system.clone(), i.value.clone())))
        .map(|i| i.json)
        .collect();
    Ok((key, json))
}

/// PID -> Patient.
pub fn map(ctx: &mut Ctx, pid: &Seg, pd1: Option<&Seg>) -> Result<MappedPatient, MapError> {
    let (key, identifier) = identifiers(ctx, pid)?;
    let key = key.ok_or_else(|| pid.missing(3))?;
    let mut p = Map::new();
    let mut extension = Vec::new();
    p.insert("identifier".into(), Value::Array(identifier));

    let mut names = Vec::new();
    for (at, rep) in pid.reps(5) {
        names.extend(xpn::human_name(ctx, rep, &at)?);
    }
    if !names.is_empty() {
        p.insert("name".into(), Value::Array(names));
    }
    let maiden = pid.get(6, 1);
    if !maiden.is_empty() {
        extension.push(json!({ "url": MAIDEN, "valueString": maiden }));
    }

    let mut telecom = Vec::new();
    for (field, default) in [(13, DefaultUse::Home), (14, DefaultUse::Work)] {
        for (at, rep) in pid.reps(field) {
            telecom.extend(xtn::contact_point(ctx, rep, &at, default)?);
        }
    }
    if !telecom.is_empty() {
        p.insert("telecom".into(), Value::Array(telecom));
    }

    // PID-8 (IS; CWE from v2.7): table 0001.
    let sex = pid.get(8, 1);
    if !sex.is_empty() {
        let g = tables::gender(sex).ok_or_else(|| {
            pid.at(8, 1).err(
                ErrorCode::TableValueNotFound,
                None,
                "is not a table 0001 code",
            )
        })?;
        put_str(&mut p, "gender", g);
    }

    // PID-7: birthDate is the date; a time goes into the birthTime extension
    // on the birthDate element (IG, PID-7 -> Patient.birthDate and extension).
    let birth = pid.get(7, 1);
    let at7 = pid.at(7, 1);
    if let Some(d) = ctx.parsed(birth, &at7, None)? {
        put_str(&mut p, "birthDate", &d.date());
        if d.has_time() {
            p.insert(
                "_birthDate".into(),
                json!({ "extension": [{ "url": BIRTH_TIME, "valueDateTime": d.datetime(ctx.offset) }] }),
            );
        }
    }

    // PID-29 death date/time wins over the PID-30 indicator (deceased[x] is a choice).
    let at29 = pid.at(29, 1);
    if let Some(d) = ctx.datetime(pid.get(29, 1), &at29, None)? {
        p.insert("deceasedDateTime".into(), Value::String(d));
    } else {
        // Table 0136 is Y/N; some senders write YES/NO (ADT01-23 does).
        match pid.value(30).to_ascii_uppercase().as_str() {
            "Y" | "YES" => {
                p.insert("deceasedBoolean".into(), Value::Bool(true));
            }
            "N" | "NO" => {
                p.insert("deceasedBoolean".into(), Value::Bool(false));
            }
            "" => {}
            _ => {
                return Err(pid.at(30, 1).err(
                    ErrorCode::TableValueNotFound,
                    None,
                    "is not a table 0136 code (Y/N)",
                ))
            }
        }
    }

    let mut address = Vec::new();
    for (at, rep) in pid.reps(11) {
        address.extend(xad::address(ctx, rep, &at)?);
    }
    if !address.is_empty() {
        p.insert("address".into(), Value::Array(address));
    }

    if let Some((_, rep)) = pid.first(16) {
        let code = rep.get(1).trim();
        let cc = match tables::marital(code) {
            Some((system, mapped)) => Some(cwe::fixed(system, mapped, rep.get(2).trim())),
            // Not a table 0002 code (e.g. a text): keep what was sent.
            None => cwe::codeable_concept(rep).map(|c| match c.get("text") {
                Some(_) => c,
                None => cwe::text(code).unwrap_or(c),
            }),
        };
        if let Some(cc) = cc {
            p.insert("maritalStatus".into(), cc);
        }
    }

    // PID-25 birth order wins (multipleBirth[x] is a choice), else PID-24 Y/N.
    match (pid.value(25).parse::<u32>(), pid.value(24)) {
        (Ok(n), _) if n > 0 => {
            p.insert("multipleBirthInteger".into(), Value::from(n));
        }
        (_, "Y") => {
            p.insert("multipleBirthBoolean".into(), Value::Bool(true));
        }
        (_, "N") => {
            p.insert("multipleBirthBoolean".into(), Value::Bool(false));
        }
        _ => {}
    }

    let mut contained = Contained::default();
    if let Some(pd1) = pd1 {
        let mut gps = Vec::new();
        for (_, rep) in pd1.reps(4) {
            gps.extend(practitioner::reference_to(ctx, rep, &mut contained));
        }
        if !gps.is_empty() {
            p.insert("generalPractitioner".into(), Value::Array(gps));
        }
    }

    // PID-15 primary language -> communication.language (preferred).
    if let Some((_, rep)) = pid.first(15) {
        if let Some(cc) = cwe::codeable_concept(rep) {
            p.insert(
                "communication".into(),
                json!([{ "language": cc, "preferred": true }]),
            );
        }
    }

    if !extension.is_empty() {
        p.shift_insert(0, "extension".into(), Value::Array(extension));
    }
    contained.attach(&mut p);
    Ok(MappedPatient { key, resource: p })
}
