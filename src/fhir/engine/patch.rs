//! patch (http://hl7.org/fhir/R4/http.html#patch): the patch is applied to the
//! current version under its row lock, the result must be valid R4 (else 422,
//! the patch is refused), and it is written like an update (same index,
//! encryption and audit; history shows method PATCH). `If-Match` holds.

use serde_json::{Map, Value};

use super::access::Action;
use super::create::written;
use super::{Engine, Outcome, Services, Written};
use crate::audit::AuditRecord;
use crate::fhir::error::FhirError;
use crate::fhir::patch::{apply, unprocessable, PatchDoc};
use crate::fhir::resource::{check_resource, IdRule};
use crate::model::{ResourceId, ResourceType};
use crate::store::resources::{self, Method};

impl Engine {
    pub(super) async fn patch(
        &self,
        svc: &Services,
        rtype: ResourceType,
        id: ResourceId,
        patch: PatchDoc,
        if_match: Option<i32>,
        record: &mut AuditRecord,
    ) -> Result<Outcome, FhirError> {
        let w = self
            .write_tx(svc, record, move |svc, conn, audit| {
                patch_current(
                    svc,
                    conn,
                    rtype,
                    &id,
                    if_match,
                    &patch,
                    &mut |_| Ok(()),
                    audit,
                )
            })
            .await?;
        Ok(written(rtype, w))
    }
}

/// Patches the current version of `rtype/id` under its row lock and writes the
/// result like an update (method PATCH). `fixup` runs on the patched document
/// before validation (a transaction rewrites references to its entries there).
/// The one patch path of `PATCH [type]/[id]` and of PATCH entries in Bundles.
#[allow(clippy::too_many_arguments)]
pub fn patch_current(
    svc: &Services,
    conn: &mut diesel::PgConnection,
    rtype: ResourceType,
    id: &ResourceId,
    if_match: Option<i32>,
    patch_doc: &PatchDoc,
    fixup: &mut dyn FnMut(&mut Value) -> Result<(), FhirError>,
    audit: &mut AuditRecord,
) -> Result<Written, FhirError> {
    svc.decide(Action::Update, rtype, Some(id))?;
    resources::lock_current(conn, &svc.tenant, rtype, id)?;
    let current = svc
        .read(conn, rtype, id, None)?
        .ok_or_else(|| FhirError::NotFound(format!("{rtype}/{id} does not exist")))?;
    let body0 = current
        .body
        .ok_or_else(|| FhirError::Gone(format!("{rtype}/{id} was deleted")))?;
    if let Some(v) = if_match.filter(|v| *v != current.version_id) {
        return Err(FhirError::PreconditionFailed(format!(
            "If-Match names version {v}, but the current version is {}",
            current.version_id
        )));
    }
    let mut doc: Value =
        serde_json::from_slice(&body0.0).map_err(|e| FhirError::Internal(e.to_string()))?;
    apply(patch_doc, &mut doc, rtype, &svc.model.invariants)?;
    fixup(&mut doc)?;
    let Value::Object(mut map) = doc else {
        return Err(unprocessable("the patched document is not a resource"));
    };
    // The server owns meta.versionId/lastUpdated; the id must stay.
    let mut empty_meta = false;
    if let Some(Value::Object(meta)) = map.get_mut("meta") {
        meta.remove("versionId");
        meta.remove("lastUpdated");
        empty_meta = meta.is_empty();
    }
    if empty_meta {
        map.remove("meta");
    }
    let map: Map<String, Value> = check_resource(map, rtype, &svc.model, IdRule::MustEqual(id))
        .map_err(|e| match e {
            FhirError::Invalid(issues) => FhirError::UnprocessablePatch(
                issues
                    .iter()
                    .map(|i| i.diagnostics.clone())
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            other => other,
        })?;
    svc.update_by(
        conn,
        rtype,
        id,
        map,
        Some(current.version_id),
        Method::Patch,
        audit,
    )
}
