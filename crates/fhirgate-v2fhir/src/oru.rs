//! ORU^R01, after http://hl7.org/fhir/uv/v2mappings/ConceptMap/message-oru-r01-to-bundle.
//!
//! The IG makes a DiagnosticReport per OBR (segment-obr-to-diagnosticreport)
//! with `result` -> the OBX Observations, and a ServiceRequest for the order.
//! Neither type is served, so (README "ORU"):
//! - each OBR becomes a grouping Observation (observation.html#obsgrouping):
//!   code OBR-4, status OBR-25, effective OBR-7, issued OBR-22, performer
//!   OBR-32, identifiers OBR-2/OBR-3 (placer/filler), `hasMember` -> the OBX
//!   Observations;
//! - the order (OBR-2/3/4, requester ORC-12 else OBR-16) is a ServiceRequest
//!   contained in the grouping Observation, referenced by its `basedOn`.
//!
//! Keys: the grouping Observation by the filler order number (OBR-3, else
//! ORC-3, else placer OBR-2/ORC-2); each OBX by that number plus OBX-3.1 and
//! OBX-4 (`<order>/<code>/<sub-id>`), so a corrected result (a new message,
//! OBX-11 C) updates the same Observation. Without any order number the key
//! falls back to the message (`<MSH-10>/OBR<n>`), which a resend with a new
//! MSH-10 cannot match. The patient is a conditional create (the PID of a
//! result must not overwrite registration data).

use std::collections::HashSet;

use fhirgate_hl7::Repetition;
use serde_json::{json, Map, Value};

use crate::bundle::{Contained, Method};
use crate::ctx::missing_segment;
use crate::ctx::{reference, Ctx, Seg};
use crate::datatypes::cx::{self, Ident};
use crate::datatypes::{comp, cwe, sub};
use crate::error::{ErrorCode, MapError};
use crate::obx::{self, Group};
use crate::{patient, practitioner, tables};

/// An EI (entity id, namespace, universal id, type) as an identifier of `type_code`.
pub fn ei(ctx: &Ctx, rep: &Repetition, kind: &str, type_code: &str) -> Option<Ident> {
    let value = comp(rep, 1);
    if value.is_empty() {
        return None;
    }
    let system = ctx.system(comp(rep, 2), comp(rep, 3), comp(rep, 4), kind);
    Some(Ident {
        json: cx::make(&system, value, type_code, comp(rep, 2), None),
        system,
        value: value.to_owned(),
        type_code: type_code.to_owned(),
    })
}

/// NTE-3 texts following segment `i` until a segment other than NTE.
pub fn notes(segs: &[Seg], i: usize) -> Vec<String> {
    segs.iter()
        .skip(i + 1)
        .take_while(|s| s.name() == "NTE")
        .map(|s| {
            s.reps(3)
                .iter()
                .map(|(_, r)| r.get(1).trim())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .filter(|t| !t.is_empty())
        .collect()
}

/// CNN (OBR-32.1, as subcomponents) seen as an XCN: id, name parts, then the
/// HD of CNN-9..11 as XCN-9.
fn cnn_as_xcn(rep: &Repetition) -> Repetition {
    let mut r = Repetition::default();
    for k in 1..=8 {
        r.components.push(fhirgate_hl7::Component {
            subcomponents: vec![sub(rep, 1, k).to_owned()],
        });
    }
    r.components.push(fhirgate_hl7::Component {
        subcomponents: (9..=11).map(|k| sub(rep, 1, k).to_owned()).collect(),
    });
    r
}

pub fn map(ctx: &mut Ctx, segs: &[Seg]) -> Result<(), MapError> {
    // ORU_R01 repeats PATIENT_RESULT: each PID is the subject of the orders after it.
    let mut subject: Option<Value> = None;
    let mut orc: Option<Seg> = None;
    let mut i = 0;
    while let Some(seg) = segs.get(i) {
        match seg.name() {
            "PID" => {
                let pd1 = crate::ctx::following(segs, i, "PD1", &["PID", "OBR", "ORC"]);
                let url = patient::add(ctx, seg, pd1.as_ref(), Method::PostIfNoneExist)?;
                subject = Some(reference(&url));
            }
            "ORC" => orc = Some(*seg),
            "OBR" => {
                let subject = subject.as_ref().ok_or_else(|| missing_segment("PID"))?;
                let end = segs
                    .iter()
                    .enumerate()
                    .skip(i + 1)
                    .find(|(_, s)| matches!(s.name(), "OBR" | "ORC" | "PID"))
                    .map_or(segs.len(), |(j, _)| j);
                order(ctx, segs, i, end, orc.as_ref(), subject)?;
                orc = None;
                i = end;
                continue;
            }
            // An OBX outside an order would be dropped silently: refuse it.
            "OBX" => {
                return Err(MapError::new(
                    ErrorCode::SegmentSequenceError,
                    crate::Location {
                        segment: "OBX".into(),
                        sequence: seg.seq,
                        ..crate::Location::default()
                    },
                    "an OBX must follow an OBR in ORU^R01",
                ))
            }
            _ => {}
        }
        i += 1;
    }
    if subject.is_none() {
        return Err(missing_segment("PID"));
    }
    Ok(())
}

fn field<'a>(s: &Seg<'a>, f: usize) -> Option<&'a Repetition> {
    s.first(f).map(|(_, r)| r)
}

/// One OBR (segment `i`) and the OBX up to `end`.
fn order(
    ctx: &mut Ctx,
    segs: &[Seg],
    i: usize,
    end: usize,
    orc: Option<&Seg>,
    subject: &Value,
) -> Result<(), MapError> {
    let Some(obr) = segs.get(i) else {
        return Ok(());
    };
    let filler = field(obr, 3)
        .or_else(|| orc.and_then(|o| field(o, 3)))
        .and_then(|r| ei(ctx, r, "filler", "FILL"));
    let placer = field(obr, 2)
        .or_else(|| orc.and_then(|o| field(o, 2)))
        .and_then(|r| ei(ctx, r, "placer", "PLAC"));
    let base = match (&filler, &placer) {
        (Some(f), _) => (f.system.clone(), f.value.clone()),
        (None, Some(p)) => (p.system.clone(), p.value.clone()),
        (None, None) => {
            if ctx.control_id.is_empty() {
                return Err(MapError::new(
                    ErrorCode::RequiredFieldMissing,
                    obr.at(3, 1).loc(None),
                    "OBR-3 (or OBR-2, or MSH-10) is needed to identify the results",
                ));
            }
            (
                ctx.local_system("message"),
                format!("{}/OBR{}", ctx.control_id, obr.seq),
            )
        }
    };
    let code = field(obr, 4)
        .and_then(cwe::codeable_concept)
        .ok_or_else(|| obr.missing(4))?;
    let at7 = obr.at(7, 1);
    let effective = ctx.datetime(obr.get(7, 1), &at7, None)?;
    let group = Group {
        subject: subject.clone(),
        effective: effective.clone(),
        base: base.clone(),
    };

    let mut members = Vec::new();
    let mut used = HashSet::new();
    for j in i + 1..end {
        // OBX after an SPM describe the specimen (Specimen is not served): not results.
        if segs.get(j).is_some_and(|s| s.name() == "SPM") {
            break;
        }
        let Some(obx) = segs.get(j).filter(|s| s.name() == "OBX") else {
            continue;
        };
        let resource = obx::observation(ctx, obx, &group, &notes(segs, j))?;
        let mut value = format!("{}/{}/{}", group.base.1, obx.get(3, 1), obx.value(4));
        if !used.insert(value.clone()) {
            // The same code and sub-id twice in one order: the set id tells them apart.
            value = format!("{value}/{}", obx.value(1));
        }
        let (system, value) = match obx
            .first(21)
            .and_then(|(_, r)| ei(ctx, r, "observation", ""))
        {
            Some(id) => (id.system, id.value),
            None => (group.base.0.clone(), value),
        };
        let mut resource = resource;
        resource.shift_insert(
            0,
            "identifier".into(),
            json!([{ "system": system, "value": value }]),
        );
        let url = ctx
            .bundle
            .add("Observation", &system, &value, Method::Put, resource);
        members.push(reference(&url));
    }

    let mut g = Map::new();
    let mut ids: Vec<Value> = Vec::new();
    ids.extend(placer.as_ref().map(|p| p.json.clone()));
    ids.extend(filler.as_ref().map(|f| f.json.clone()));
    if ids.is_empty() {
        ids.push(json!({ "system": base.0, "value": base.1 }));
    }
    g.insert("identifier".into(), Value::Array(ids.clone()));
    let status = match obr.value(25) {
        "" => "unknown",
        s => tables::result_status(s).ok_or_else(|| {
            obr.err(
                ErrorCode::TableValueNotFound,
                25,
                "is not a table 0123 code",
            )
        })?,
    };
    let mut contained = Contained::default();
    let requester = orc
        .and_then(|o| o.first(12))
        .or_else(|| obr.first(16))
        .and_then(|(_, r)| practitioner::reference_to(ctx, r, &mut contained));
    let mut sr = Map::new();
    sr.insert("resourceType".into(), json!("ServiceRequest"));
    sr.insert("identifier".into(), Value::Array(ids));
    let sr_status = match status {
        "final" | "corrected" => "completed",
        "cancelled" => "revoked",
        _ => "active",
    };
    sr.insert("status".into(), json!(sr_status));
    sr.insert("intent".into(), json!("order"));
    sr.insert("code".into(), code.clone());
    sr.insert("subject".into(), subject.clone());
    if let Some(r) = requester {
        sr.insert("requester".into(), r);
    }
    let based_on = contained.add(sr);
    g.insert("basedOn".into(), json!([based_on]));
    g.insert("status".into(), json!(status));
    g.insert("category".into(), obx::laboratory());
    g.insert("code".into(), code);
    g.insert("subject".into(), subject.clone());
    if let Some(e) = effective {
        g.insert("effectiveDateTime".into(), json!(e));
    }
    let at22 = obr.at(22, 1);
    if let Some(d) = ctx.parsed(obr.get(22, 1), &at22, None)? {
        if let Ok(issued) = d.instant(ctx.offset) {
            g.insert("issued".into(), json!(issued));
        }
    }
    let interpreter = obr.first(32).map(|(_, r)| cnn_as_xcn(r));
    if let Some(p) = interpreter.and_then(|r| practitioner::reference_to(ctx, &r, &mut contained)) {
        g.insert("performer".into(), json!([p]));
    }
    if !members.is_empty() {
        g.insert("hasMember".into(), Value::Array(members));
    }
    let notes = notes(segs, i);
    if !notes.is_empty() {
        let n: Vec<Value> = notes.iter().map(|t| json!({ "text": t })).collect();
        g.insert("note".into(), Value::Array(n));
    }
    contained.attach(&mut g);
    ctx.bundle
        .add("Observation", &base.0, &base.1, Method::Put, g);
    Ok(())
}
