//! ADT A01/A04/A05/A08/A28/A31 and A40, after the IG's message maps
//! (http://hl7.org/fhir/uv/v2mappings/ConceptMap/message-adt-a01-to-bundle and
//! siblings; A40: message-adt-a40-to-bundle).
//!
//! ADT carries the full demographics, so the Patient is written with a
//! conditional update: the message is the source of truth for it.
//! PV1-7/8/9/17 (attending, referring, consulting, admitting) become
//! Practitioner entries; the IG hangs them on Encounter.participant, and
//! Encounter is not served, so they are not referenced from anything.
//! PD1-4 -> Patient.generalPractitioner.

use serde_json::{json, Value};

use crate::bundle::Method;
use crate::ctx::{following, missing_segment, reference, Ctx, Seg};
use crate::datatypes::cx;
use crate::datatypes::xpn;
use crate::error::{ErrorCode, MapError};
use crate::merge::Merge;
use crate::{patient, practitioner};

pub fn map(ctx: &mut Ctx, segs: &[Seg], event: &str) -> Result<(), MapError> {
    if event == "A40" {
        return merge(ctx, segs);
    }
    let (i, pid) = segs
        .iter()
        .enumerate()
        .find(|(_, s)| s.name() == "PID")
        .ok_or_else(|| missing_segment("PID"))?;
    let pd1 = following(segs, i, "PD1", &["PID"]);
    patient::add(ctx, pid, pd1.as_ref(), Method::Put)?;
    if let Some(pv1) = following(segs, i, "PV1", &["PID"]) {
        for field in [7, 8, 9, 17] {
            practitioner::entries(ctx, &pv1, field);
        }
    }
    Ok(())
}

/// A40: each PID (survivor) with its MRG (the record merged into it). The
/// survivor gets `link: replaces`, the other `link: replaced-by` and
/// `active: false` (patient.html#links). Both are conditional updates; the
/// other Patient's is marked [`Merge::Retired`], so a stored record keeps its
/// content and only becomes inactive and linked (README "A40").
fn merge(ctx: &mut Ctx, segs: &[Seg]) -> Result<(), MapError> {
    let mut found = false;
    for (i, pid) in segs.iter().enumerate().filter(|(_, s)| s.name() == "PID") {
        found = true;
        let mrg = following(segs, i, "MRG", &["PID"]).ok_or_else(|| missing_segment("MRG"))?;
        let pd1 = following(segs, i, "PD1", &["PID"]);
        let survivor = patient::add(ctx, pid, pd1.as_ref(), Method::Put)?;

        let mut key: Option<cx::Ident> = None;
        let mut ids = Vec::new();
        for (at, rep) in mrg.reps(1) {
            if let Some(id) = cx::identifier(ctx, rep, &at, "patient")? {
                if key.is_none()
                    || (id.type_code == "MR" && key.as_ref().is_some_and(|k| k.type_code != "MR"))
                {
                    key = Some(id.clone());
                }
                ids.push(id.json);
            }
        }
        let key = key.ok_or_else(|| mrg.missing(1))?;
        let mut other = serde_json::Map::new();
        other.insert("identifier".into(), Value::Array(ids));
        other.insert("active".into(), Value::Bool(false));
        let mut names = Vec::new();
        for (at, rep) in mrg.reps(7) {
            names.extend(xpn::human_name(ctx, rep, &at)?);
        }
        if !names.is_empty() {
            other.insert("name".into(), Value::Array(names));
        }
        other.insert(
            "link".into(),
            json!([{ "other": reference(&survivor), "type": "replaced-by" }]),
        );
        let replaced = ctx
            .bundle
            .add("Patient", &key.system, &key.value, Method::Put, other);
        if replaced == survivor {
            return Err(mrg.err(
                ErrorCode::DataTypeError,
                1,
                "names the surviving patient itself",
            ));
        }
        ctx.bundle.set_merge(&replaced, Merge::Retired);
        if let Some(s) = ctx.bundle.resource_mut(&survivor) {
            s.insert("active".into(), Value::Bool(true));
            s.insert(
                "link".into(),
                json!([{ "other": reference(&replaced), "type": "replaces" }]),
            );
        }
    }
    if found {
        Ok(())
    } else {
        Err(missing_segment("PID"))
    }
}
