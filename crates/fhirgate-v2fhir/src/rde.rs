//! RDE^O11 and OMP^O09 -> MedicationRequest, after
//! http://hl7.org/fhir/uv/v2mappings/ConceptMap/message-rde-o11-to-bundle and
//! segment-orc-to-medicationrequest, segment-rxe-to-medicationrequest,
//! segment-rxo-to-medicationrequest, segment-rxr-to-medicationrequest (dosage),
//! segment-tq1-to-medicationrequest.
//!
//! One MedicationRequest per ORC. Where the order has both an RXO (what was
//! ordered) and an RXE (what the pharmacy encoded), the RXE and the RXR/TQ1
//! that follow it win, the RXO ones fill what is missing. The IG's Medication
//! resource is not served: the drug is `medicationCodeableConcept` (RXE-2,
//! else RXO-1). Key: ORC-3 (filler), else ORC-2 (placer), else the message
//! (`<MSH-10>/ORC<n>`). The patient is a conditional create.

use fhirgate_hl7::Repetition;
use serde_json::{json, Map, Value};

use crate::bundle::{Contained, Method};
use crate::ctx::{following, missing_segment};
use crate::ctx::{reference, Ctx, Seg};
use crate::datatypes::{comp, cwe, period, sub};
use crate::error::{ErrorCode, MapError};
use crate::obx::{decimal, quantity};
use crate::oru::ei;
use crate::{patient, practitioner, tables};

/// http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation codes senders put in RPT-1.
const GTS: &[&str] = &[
    "AM", "BID", "JB", "JE", "JH", "JW", "PM", "Q1H", "Q2H", "Q3H", "Q4H", "Q6H", "Q8H", "QD",
    "QHS", "QID", "QOD", "TID",
];

/// A CWE of a field bound to an HL7 table, reading an empty CWE-3 as that table.
fn table_cc(rep: &Repetition, table: &'static str) -> Option<Value> {
    cwe::from_parts(|n| match comp(rep, n) {
        "" if n == 3 && !comp(rep, 1).is_empty() => table,
        v => v,
    })
}

/// The segments of one order: those before its RXE, and its RXE and after.
struct Order<'a> {
    orc: Seg<'a>,
    rxo: Option<Seg<'a>>,
    rxe: Option<Seg<'a>>,
    before: Vec<Seg<'a>>,
    after: Vec<Seg<'a>>,
}

impl<'a> Order<'a> {
    /// The first `name` after the RXE, else before it.
    fn find(&self, name: &str) -> Option<Seg<'a>> {
        let pick = |v: &Vec<Seg<'a>>| v.iter().find(|s| s.name() == name).copied();
        pick(&self.after).or_else(|| pick(&self.before))
    }
}

fn orders<'a>(segs: &[Seg<'a>]) -> Vec<Order<'a>> {
    let mut out: Vec<Order<'a>> = Vec::new();
    for s in segs {
        match (s.name(), out.last_mut()) {
            ("ORC", _) => out.push(Order {
                orc: *s,
                rxo: None,
                rxe: None,
                before: Vec::new(),
                after: Vec::new(),
            }),
            ("RXE", Some(o)) if o.rxe.is_none() => o.rxe = Some(*s),
            ("RXO", Some(o)) if o.rxo.is_none() && o.rxe.is_none() => o.rxo = Some(*s),
            (_, Some(o)) if o.rxe.is_some() => o.after.push(*s),
            (_, Some(o)) => o.before.push(*s),
            _ => {}
        }
    }
    out
}

/// Dose from amount (min), optional max and units fields of `seg`.
fn dose(
    seg: &Seg,
    min: usize,
    max: usize,
    units: usize,
) -> Result<Option<(String, Value)>, MapError> {
    let low = seg.value(min);
    if low.is_empty() {
        return Ok(None);
    }
    let u = seg.first(units).map(|(_, r)| r);
    let num = |f: usize| {
        decimal(seg.value(f))
            .ok_or_else(|| seg.err(ErrorCode::DataTypeError, f, "is not a number (NM)"))
    };
    let lo = Value::Object(quantity(num(min)?, u));
    if seg.value(max).is_empty() {
        return Ok(Some(("doseQuantity".into(), lo)));
    }
    let hi = Value::Object(quantity(num(max)?, u));
    Ok(Some(("doseRange".into(), json!({ "low": lo, "high": hi }))))
}

/// TQ1-2 (CQ: quantity ^ units, the units a CWE in subcomponents) as a dose.
fn tq1_dose(tq1: &Seg) -> Result<Option<(String, Value)>, MapError> {
    let Some((at, r)) = tq1.first(2) else {
        return Ok(None);
    };
    let n = decimal(comp(r, 1))
        .ok_or_else(|| at.err(ErrorCode::DataTypeError, Some(1), "is not a number (NM)"))?;
    let units = Repetition {
        components: r
            .component(2)
            .map(|c| {
                c.subcomponents
                    .iter()
                    .map(|s| fhirgate_hl7::Component {
                        subcomponents: vec![s.clone()],
                    })
                    .collect()
            })
            .unwrap_or_default(),
    };
    let q = quantity(n, (!units.is_empty()).then_some(&units));
    Ok(Some(("doseQuantity".into(), Value::Object(q))))
}

/// TQ1 -> Timing and the priority (TQ1-9).
fn timing(ctx: &Ctx, tq1: &Seg) -> Result<(Option<Value>, Option<&'static str>), MapError> {
    let mut t = Map::new();
    let mut repeat = Map::new();
    let (a7, a8) = (tq1.at(7, 1), tq1.at(8, 1));
    let bounds = period(
        ctx.datetime(tq1.get(7, 1), &a7, None)?,
        ctx.datetime(tq1.get(8, 1), &a8, None)?,
    );
    if let Some(b) = bounds {
        repeat.insert("boundsPeriod".into(), b);
    } else if let Some((_, r)) = tq1.first(6) {
        // TQ1-6 service duration (CQ): quantity ^ units (CWE as subcomponents).
        let unit = match sub(r, 2, 1).to_ascii_uppercase().as_str() {
            "S" => "s",
            "M" | "MIN" => "min",
            "H" | "HR" => "h",
            "D" | "DAY" => "d",
            "W" | "WK" => "wk",
            "L" | "MO" => "mo",
            "Y" | "A" => "a",
            _ => "",
        };
        if let (Some(n), false) = (decimal(comp(r, 1)), unit.is_empty()) {
            repeat.insert(
                "boundsDuration".into(),
                json!({ "value": n, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit }),
            );
        }
    }
    if !repeat.is_empty() {
        t.insert("repeat".into(), Value::Object(repeat));
    }
    if let Some((_, r)) = tq1.first(3) {
        let code = sub(r, 1, 1);
        let cc = if GTS.contains(&code) {
            Some(cwe::fixed(
                "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation",
                code,
                "",
            ))
        } else {
            cwe::text(if sub(r, 1, 2).is_empty() {
                code
            } else {
                sub(r, 1, 2)
            })
        };
        if let Some(cc) = cc {
            t.insert("code".into(), cc);
        }
    }
    let t = (!t.is_empty()).then_some(Value::Object(t));
    Ok((t, tables::priority(tq1.get(9, 1))))
}

pub fn map(ctx: &mut Ctx, segs: &[Seg]) -> Result<(), MapError> {
    let (pi, pid) = segs
        .iter()
        .enumerate()
        .find(|(_, s)| s.name() == "PID")
        .ok_or_else(|| missing_segment("PID"))?;
    let pd1 = following(segs, pi, "PD1", &["PID", "ORC"]);
    let subject = reference(&patient::add(
        ctx,
        pid,
        pd1.as_ref(),
        Method::PostIfNoneExist,
    )?);
    let all = orders(segs);
    if all.is_empty() {
        return Err(missing_segment("ORC"));
    }
    for o in &all {
        order(ctx, o, &subject)?;
    }
    Ok(())
}

fn order(ctx: &mut Ctx, o: &Order, subject: &Value) -> Result<(), MapError> {
    let orc = &o.orc;
    let mut m = Map::new();
    let placer = orc.first(2).and_then(|(_, r)| ei(ctx, r, "placer", "PLAC"));
    let filler = orc.first(3).and_then(|(_, r)| ei(ctx, r, "filler", "FILL"));
    let (system, value) = match filler.as_ref().or(placer.as_ref()) {
        Some(k) => (k.system.clone(), k.value.clone()),
        None if !ctx.control_id.is_empty() => (
            ctx.local_system("message"),
            format!("{}/ORC{}", ctx.control_id, orc.seq),
        ),
        None => return Err(orc.missing(2)),
    };
    let mut ids: Vec<Value> = placer.into_iter().chain(filler).map(|i| i.json).collect();
    if ids.is_empty() {
        ids.push(json!({ "system": system, "value": value }));
    }
    m.insert("identifier".into(), Value::Array(ids));
    let status = match (orc.value(5), orc.value(1)) {
        ("", "") => "unknown",
        ("", c) => tables::order_control_status(c)
            .ok_or_else(|| orc.err(ErrorCode::TableValueNotFound, 1, "is not a table 0119 code"))?,
        (s, _) => tables::order_status(s)
            .ok_or_else(|| orc.err(ErrorCode::TableValueNotFound, 5, "is not a table 0038 code"))?,
    };
    m.insert("status".into(), json!(status));
    m.insert("intent".into(), json!("order"));
    let med = o
        .rxe
        .and_then(|s| s.first(2))
        .or_else(|| o.rxo.and_then(|s| s.first(1)))
        .and_then(|(_, r)| cwe::codeable_concept(r));
    let med = med.ok_or_else(|| match o.rxe {
        Some(rxe) => rxe.missing(2),
        None => missing_segment("RXE"),
    })?;
    m.insert("medicationCodeableConcept".into(), med);
    m.insert("subject".into(), subject.clone());
    let a9 = orc.at(9, 1);
    if let Some(d) = ctx.datetime(orc.get(9, 1), &a9, None)? {
        m.insert("authoredOn".into(), json!(d));
    }
    let mut contained = Contained::default();
    if let Some(r) = orc
        .first(12)
        .and_then(|(_, r)| practitioner::reference_to(ctx, r, &mut contained))
    {
        m.insert("requester".into(), r);
    }

    let mut dosage = Map::new();
    let instructions = o
        .rxe
        .filter(|s| s.first(7).is_some())
        .map(|s| (s, 7))
        .or_else(|| o.rxo.map(|s| (s, 7)));
    if let Some((seg, f)) = instructions {
        let lines: Vec<&str> = seg
            .reps(f)
            .iter()
            .map(|(_, r)| {
                if comp(r, 2).is_empty() {
                    comp(r, 1)
                } else {
                    comp(r, 2)
                }
            })
            .filter(|t| !t.is_empty())
            .collect();
        if !lines.is_empty() {
            dosage.insert("text".into(), json!(lines.join("\n")));
        }
    }
    let mut priority = None;
    if let Some(tq1) = o.find("TQ1") {
        let (t, p) = timing(ctx, &tq1)?;
        if let Some(t) = t {
            dosage.insert("timing".into(), t);
        }
        priority = p;
    }
    if let Some(rxr) = o.find("RXR") {
        let fields = [
            (2, "site", "HL70163"),
            (1, "route", "HL70162"),
            (4, "method", "HL70165"),
        ];
        for (f, key, table) in fields {
            if let Some(cc) = rxr.first(f).and_then(|(_, r)| table_cc(r, table)) {
                dosage.insert(key.into(), cc);
            }
        }
    }
    let d = match o.rxe {
        Some(rxe) => dose(&rxe, 3, 4, 5)?,
        None => None,
    };
    let d = match (d, o.rxo) {
        (Some(d), _) => Some(d),
        (None, Some(rxo)) => dose(&rxo, 2, 3, 4)?,
        (None, None) => None,
    };
    let d = match (d, o.find("TQ1")) {
        (Some(d), _) => Some(d),
        (None, Some(tq1)) => tq1_dose(&tq1)?,
        (None, None) => None,
    };
    if let Some((k, v)) = d {
        dosage.insert("doseAndRate".into(), json!([{ k: v }]));
    }
    if !dosage.is_empty() {
        m.insert("dosageInstruction".into(), json!([dosage]));
    }
    if let Some(p) = priority {
        m.insert("priority".into(), json!(p));
    }

    // Dispense: RXE-10/11/12, else RXO-11/12/13.
    let (src, amount, units, refills) = match (o.rxe, o.rxo) {
        (Some(rxe), _) => (Some(rxe), 10, 11, 12),
        (None, Some(rxo)) => (Some(rxo), 11, 12, 13),
        _ => (None, 0, 0, 0),
    };
    if let Some(s) = src {
        let mut disp = Map::new();
        if !s.value(refills).is_empty() {
            let n: u32 = s
                .value(refills)
                .parse()
                .map_err(|_| s.err(ErrorCode::DataTypeError, refills, "is not a whole number"))?;
            disp.insert("numberOfRepeatsAllowed".into(), json!(n));
        }
        if !s.value(amount).is_empty() {
            let n = decimal(s.value(amount))
                .ok_or_else(|| s.err(ErrorCode::DataTypeError, amount, "is not a number (NM)"))?;
            disp.insert(
                "quantity".into(),
                Value::Object(quantity(n, s.first(units).map(|(_, r)| r))),
            );
        }
        if !disp.is_empty() {
            m.insert("dispenseRequest".into(), Value::Object(disp));
        }
    }
    contained.attach(&mut m);
    ctx.bundle
        .add("MedicationRequest", &system, &value, Method::Put, m);
    Ok(())
}
