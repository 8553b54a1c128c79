//! SIU S12/S13/S14/S15/S17/S26 -> Appointment, after
//! http://hl7.org/fhir/uv/v2mappings/ConceptMap/message-siu-s12-to-bundle and
//! segment-sch-to-appointment, segment-aip-to-appointment (participant).
//!
//! - identifiers SCH-1 (placer, PLAC) and SCH-2 (filler, FILL); the key is the
//!   filler id, else the placer id;
//! - status: SCH-25 through table 0278, except that the event decides for
//!   S15 (cancel) and S17 (delete): `cancelled`, never a DELETE, so the history
//!   stays; and S26 (no-show): `noshow`. An empty SCH-25 on S12/S13/S14 is
//!   `booked` (the filler notifies a booking);
//! - start/end: TQ1-7/TQ1-8, else SCH-11.4/SCH-11.5 (TQ, deprecated), else the
//!   first AIS/AIG/AIL/AIP with a start, its end from start + duration;
//!   minutesDuration from end - start;
//! - participants: the patient and each AIP-3 practitioner (status AIP-12,
//!   table 0278, else from the appointment status), AIG/AIL resources and
//!   locations by display only (Device and Location are not served).

use serde_json::{json, Map, Value};

use crate::bundle::{Contained, Method};
use crate::ctx::{following, missing_segment};
use crate::ctx::{reference, Ctx, Seg};
use crate::datatypes::{comp, cwe, sub};
use crate::dtm::Dtm;
use crate::error::{ErrorCode, MapError};
use crate::oru::{ei, notes};
use crate::{patient, practitioner, tables};

/// Seconds in one unit of a duration (CNE, e.g. `min^Minutes^ISO`).
fn unit_seconds(unit: &str) -> Option<i64> {
    Some(match unit.to_ascii_lowercase().as_str() {
        "s" | "sec" | "second" | "seconds" => 1,
        "min" | "m" | "minute" | "minutes" => 60,
        "h" | "hr" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        _ => return None,
    })
}

/// Positions of start, duration and duration units in AIS/AIG/AIL/AIP.
fn resource_fields(name: &str) -> Option<(usize, usize, usize)> {
    match name {
        "AIS" => Some((4, 7, 8)),
        "AIG" => Some((8, 11, 12)),
        "AIL" | "AIP" => Some((6, 9, 10)),
        _ => None,
    }
}

fn when(
    ctx: &Ctx,
    segs: &[Seg],
    sch: &Seg,
) -> Result<(Option<Dtm>, Option<Dtm>, String), MapError> {
    if let Some(tq1) = segs.iter().find(|s| s.name() == "TQ1") {
        let (a7, a8) = (tq1.at(7, 1), tq1.at(8, 1));
        let start = ctx.parsed(tq1.get(7, 1), &a7, None)?;
        if start.is_some() {
            return Ok((start, ctx.parsed(tq1.get(8, 1), &a8, None)?, "TQ1-8".into()));
        }
    }
    let a11 = sch.at(11, 1);
    if let Some(start) = ctx.parsed(sch.get(11, 4), &a11, Some(4))? {
        return Ok((
            Some(start),
            ctx.parsed(sch.get(11, 5), &a11, Some(5))?,
            "SCH-11.5".into(),
        ));
    }
    for seg in segs {
        let Some((fs, fd, fu)) = resource_fields(seg.name()) else {
            continue;
        };
        let at = seg.at(fs, 1);
        let Some(start) = ctx.parsed(seg.get(fs, 1), &at, None)? else {
            continue;
        };
        let end = match (seg.value(fd).parse::<i64>(), unit_seconds(seg.get(fu, 1))) {
            (Ok(n), Some(unit)) if n > 0 => Some(
                start
                    .plus_seconds(n.saturating_mul(unit), ctx.offset)
                    .map_err(|e| {
                        seg.at(fd, 1)
                            .err(ErrorCode::DataTypeError, None, e.describe())
                    })?,
            ),
            _ => None,
        };
        return Ok((Some(start), end, format!("{}-{fd}", seg.name())));
    }
    Ok((None, None, "TQ1-7".into()))
}

pub fn map(ctx: &mut Ctx, segs: &[Seg], event: &str) -> Result<(), MapError> {
    let (si, sch) = segs
        .iter()
        .enumerate()
        .find(|(_, s)| s.name() == "SCH")
        .ok_or_else(|| missing_segment("SCH"))?;
    let mut a = Map::new();
    let first = |f: usize| sch.first(f).map(|(_, r)| r);
    let placer = first(1).and_then(|r| ei(ctx, r, "placer", "PLAC"));
    let filler = first(2).and_then(|r| ei(ctx, r, "filler", "FILL"));
    let key = filler
        .clone()
        .or_else(|| placer.clone())
        .ok_or_else(|| sch.missing(2))?;
    let ids: Vec<Value> = placer.into_iter().chain(filler).map(|i| i.json).collect();
    a.insert("identifier".into(), Value::Array(ids));

    let status = match event {
        "S15" | "S17" => "cancelled",
        "S26" => "noshow",
        _ => match sch.value(25) {
            "" => "booked",
            s => tables::appointment_status(s).ok_or_else(|| {
                sch.err(
                    ErrorCode::TableValueNotFound,
                    25,
                    "is not a table 0278 appointment status",
                )
            })?,
        },
    };
    a.insert("status".into(), json!(status));
    if let Some(cc) = first(7).and_then(cwe::codeable_concept) {
        a.insert("reasonCode".into(), json!([cc]));
    }
    let services: Vec<Value> = segs
        .iter()
        .filter(|s| s.name() == "AIS")
        .filter_map(|s| s.first(3).and_then(|(_, r)| cwe::codeable_concept(r)))
        .collect();
    if !services.is_empty() {
        a.insert("serviceType".into(), Value::Array(services));
    }
    if let Some(cc) = first(8).and_then(cwe::codeable_concept) {
        a.insert("appointmentType".into(), cc);
    }

    let (start, end, end_field) = when(ctx, segs, sch)?;
    let open = matches!(status, "proposed" | "cancelled" | "waitlist" | "pending");
    match (start, end) {
        (Some(s), Some(e)) => {
            let bad = |what: &str| {
                MapError::new(
                    ErrorCode::DataTypeError,
                    sch.at(11, 1).loc(None),
                    what.to_owned(),
                )
            };
            let secs = e.epoch_seconds(ctx.offset).map_err(|x| bad(x.describe()))?
                - s.epoch_seconds(ctx.offset).map_err(|x| bad(x.describe()))?;
            if secs < 0 {
                return Err(bad("the appointment ends before it starts"));
            }
            a.insert(
                "start".into(),
                json!(s.instant(ctx.offset).map_err(|x| bad(x.describe()))?),
            );
            a.insert(
                "end".into(),
                json!(e.instant(ctx.offset).map_err(|x| bad(x.describe()))?),
            );
            if secs >= 60 {
                a.insert("minutesDuration".into(), json!(secs / 60));
            }
        }
        // app-2/app-3: start and end together, and only open appointments without them.
        (None, None) if open => {}
        _ => {
            return Err(MapError::new(
                ErrorCode::RequiredFieldMissing,
                crate::Location {
                    segment: end_field.split('-').next().unwrap_or("TQ1").to_owned(),
                    sequence: 1,
                    field: end_field
                        .split('-')
                        .nth(1)
                        .and_then(|f| f.split('.').next()?.parse().ok()),
                    repetition: None,
                    component: None,
                },
                format!("{end_field}: an appointment needs both a start and an end"),
            ))
        }
    }
    let comments = notes(segs, si);
    if !comments.is_empty() {
        a.insert("comment".into(), json!(comments.join("\n")));
    }

    let derived = match status {
        "cancelled" | "noshow" | "entered-in-error" => "declined",
        "pending" | "proposed" | "waitlist" => "tentative",
        _ => "accepted",
    };
    // The PATIENT group of SIU is optional: an appointment of practitioners alone is valid.
    let mut participants = Vec::new();
    if let Some((pi, pid)) = segs.iter().enumerate().find(|(_, s)| s.name() == "PID") {
        let pd1 = following(segs, pi, "PD1", &["PID", "RGS"]);
        let patient = patient::add(ctx, pid, pd1.as_ref(), Method::PostIfNoneExist)?;
        participants.push(json!({ "actor": reference(&patient), "status": derived }));
    }
    let mut contained = Contained::default();
    for seg in segs
        .iter()
        .filter(|s| matches!(s.name(), "AIP" | "AIG" | "AIL"))
    {
        let (status_field, display) = match seg.name() {
            "AIP" => (12, None),
            "AIG" => (
                14,
                seg.first(3).map(|(_, r)| text_of(comp(r, 2), comp(r, 1))),
            ),
            // AIL-3 (PL): point of care, room, bed, facility.
            _ => (
                12,
                seg.first(3).map(|(_, r)| {
                    [sub(r, 1, 1), comp(r, 2), comp(r, 3), comp(r, 4)]
                        .iter()
                        .filter(|p| !p.is_empty())
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", ")
                }),
            ),
        };
        let pstatus = tables::participation_status(seg.get(status_field, 1)).unwrap_or(derived);
        if seg.name() == "AIP" {
            for (_, rep) in seg.reps(3) {
                if let Some(r) = practitioner::reference_to(ctx, rep, &mut contained) {
                    let mut p = Map::new();
                    if let Some(role) = seg.first(4).and_then(|(_, r)| cwe::codeable_concept(r)) {
                        p.insert("type".into(), json!([role]));
                    }
                    p.insert("actor".into(), r);
                    p.insert("status".into(), json!(pstatus));
                    participants.push(Value::Object(p));
                }
            }
        } else if let Some(d) = display.filter(|d| !d.is_empty()) {
            participants.push(json!({ "actor": { "display": d }, "status": pstatus }));
        }
    }
    if participants.is_empty() {
        // Appointment.participant is 1..*.
        return Err(missing_segment("AIP"));
    }
    a.insert("participant".into(), Value::Array(participants));
    contained.attach(&mut a);
    ctx.bundle
        .add("Appointment", &key.system, &key.value, Method::Put, a);
    Ok(())
}

fn text_of(primary: &str, fallback: &str) -> String {
    if primary.is_empty() {
        fallback
    } else {
        primary
    }
    .to_owned()
}
