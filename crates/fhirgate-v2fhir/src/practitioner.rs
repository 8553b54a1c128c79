//! Practitioners named by XCN fields (PD1-4, PV1-7/8/9/17, OBX-16, ORC-12,
//! OBR-16, OBR-32, AIP-3).
//!
//! An XCN with an id becomes a Bundle entry written with a conditional create
//! (`ifNoneExist` on the identifier): the message knows the practitioner only by
//! id and name, so it must not overwrite a richer record already stored. An XCN
//! without an id (a name alone) cannot be matched on a replay; it becomes a
//! contained Practitioner of the resource that names it, which is replaced with
//! that resource and so never duplicated.

use fhirgate_hl7::Repetition;
use serde_json::Value;

use crate::bundle::{Contained, Method};
use crate::ctx::{reference, Ctx, Seg};
use crate::datatypes::xcn;

/// A Reference to the practitioner of `rep` (an entry, or a contained resource
/// added to `contained`); None for an empty XCN.
pub fn reference_to(ctx: &mut Ctx, rep: &Repetition, contained: &mut Contained) -> Option<Value> {
    let (ident, mut resource) = xcn::practitioner(ctx, rep)?;
    match ident {
        Some(i) => {
            let url = ctx.bundle.add(
                "Practitioner",
                &i.system,
                &i.value,
                Method::PostIfNoneExist,
                resource,
            );
            Some(reference(&url))
        }
        None => {
            resource.shift_insert(
                0,
                "resourceType".into(),
                Value::String("Practitioner".into()),
            );
            Some(contained.add(resource))
        }
    }
}

/// Every practitioner with an id in a field, as entries of their own (PV1-7/8/9/17
/// in ADT: the Encounter that would reference them is not served). Returns
/// their references. Practitioners without an id are dropped here: nothing
/// would reference them.
pub fn entries(ctx: &mut Ctx, seg: &Seg, field: usize) -> Vec<Value> {
    let mut out = Vec::new();
    for (_, rep) in seg.reps(field) {
        if let Some((Some(i), resource)) = xcn::practitioner(ctx, rep) {
            let url = ctx.bundle.add(
                "Practitioner",
                &i.system,
                &i.value,
                Method::PostIfNoneExist,
                resource,
            );
            out.push(reference(&url));
        }
    }
    out
}
