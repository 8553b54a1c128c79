//! `PATCH [base]/[type]/[id]` (http://hl7.org/fhir/R4/http.html#patch) with JSON
//! Patch (RFC 6902, `application/json-patch+json`) or FHIRPath Patch (a
//! Parameters resource, http://hl7.org/fhir/R4/fhirpatch.html, `fhirpath.rs`). The patch is
//! applied to the current version under its row lock, the result must be valid
//! R4 (else 422, the patch is refused), and it is written like an update (same
//! index, encryption and audit; history shows method PATCH). `If-Match` holds.

use actix_web::{web, HttpRequest, HttpResponse};
use fhirgate_validate::{Invariants, IssueCode};
use serde_json::{Map, Value};

use super::context::{Ctx, Reply};
use super::error::FhirError;
use super::format::{input_format, parse_body};
use super::handlers::written_reply_pub as written_reply;
use super::resource::{check_resource, read_body, IdRule};
use super::service::{Services, Written};
use super::AppState;
use crate::audit::{AuditRecord, Interaction};
use crate::model::{ResourceId, ResourceType};
use crate::store::resources::{self, Method};

mod fhirpath;
mod params;

fn unprocessable(msg: impl Into<String>) -> FhirError {
    FhirError::UnprocessablePatch(msg.into())
}

/// The patch document, read before the database work (its kind comes from the
/// Content-Type, http.html#patch; in a Bundle, from the entry's resource).
#[derive(Debug, Clone)]
pub enum PatchDoc {
    Json(json_patch::Patch),
    FhirPath(Value),
}

/// A JSON Patch document (RFC 6902), through the strict parser first: like a
/// resource, it may hold at most `max_nodes` JSON values (413), and a duplicate
/// key in an operation is refused rather than read one way of two.
fn json_patch_doc(body: &[u8], max_nodes: usize) -> Result<PatchDoc, FhirError> {
    let value = match fhirgate_validate::parse_json_value_with(body, max_nodes) {
        Ok(v) => v,
        Err(fhirgate_validate::JsonError::TooManyNodes { limit }) => {
            return Err(FhirError::TooManyNodes(limit))
        }
        Err(fhirgate_validate::JsonError::Invalid(issue)) => {
            return Err(FhirError::invalid(
                IssueCode::Structure,
                None,
                format!("not a JSON Patch document: {}", issue.diagnostics),
            ))
        }
    };
    serde_json::from_value(value)
        .map(PatchDoc::Json)
        .map_err(|e| {
            FhirError::invalid(
                IssueCode::Structure,
                None,
                format!("not a JSON Patch document: {e}"),
            )
        })
}

impl PatchDoc {
    /// The patch of a Bundle entry (http://hl7.org/fhir/R4/http.html#transaction):
    /// a Binary whose contentType is application/json-patch+json and whose data
    /// is the base64 JSON Patch, or a Parameters resource (FHIRPath Patch).
    pub fn from_entry(resource: &Value, max_nodes: usize) -> Result<Self, FhirError> {
        match resource.get("resourceType").and_then(Value::as_str) {
            Some("Parameters") => Ok(PatchDoc::FhirPath(resource.clone())),
            Some("Binary") => {
                let ct = resource
                    .get("contentType")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if !ct.starts_with("application/json-patch+json") {
                    return Err(FhirError::invalid(
                        IssueCode::NotSupported,
                        Some("Binary.contentType"),
                        format!("a PATCH Binary must be application/json-patch+json, not {ct:?}"),
                    ));
                }
                use base64::Engine;
                let data = resource.get("data").and_then(Value::as_str).unwrap_or("");
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(data)
                    .map_err(|_| {
                        FhirError::invalid(
                            IssueCode::Invalid,
                            Some("Binary.data"),
                            "Binary.data is not base64",
                        )
                    })?;
                json_patch_doc(&bytes, max_nodes)
            }
            _ => Err(FhirError::invalid(
                IssueCode::Invalid,
                None,
                "a PATCH entry's resource is a Binary (JSON Patch) or a Parameters resource (FHIRPath Patch)",
            )),
        }
    }
}

fn parse_patch(req: &HttpRequest, body: &[u8], max_nodes: usize) -> Result<PatchDoc, FhirError> {
    let ct = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ct.starts_with("application/json-patch+json") {
        return json_patch_doc(body, max_nodes);
    }
    let params = parse_body(input_format(req)?, body, max_nodes)?;
    if params.get("resourceType").and_then(Value::as_str) != Some("Parameters") {
        return Err(FhirError::UnsupportedMediaType(
            "PATCH takes application/json-patch+json, or a FHIRPath Patch Parameters resource"
                .into(),
        ));
    }
    Ok(PatchDoc::FhirPath(params))
}

fn apply(
    p: &PatchDoc,
    doc: &mut Value,
    rtype: ResourceType,
    inv: &Invariants,
) -> Result<(), FhirError> {
    match p {
        // RFC 5789 / RFC 6902: a patch that cannot be applied is 422.
        PatchDoc::Json(patch) => json_patch::patch(doc, patch)
            .map_err(|e| unprocessable(format!("the JSON Patch cannot be applied: {e}"))),
        PatchDoc::FhirPath(params) => fhirpath::apply(doc, params, rtype, inv),
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
    resources::lock_current(conn, &svc.tenant, rtype, id)?;
    let current = resources::read(conn, &svc.keyring, &svc.tenant, rtype, id)?
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

pub async fn patch(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> HttpResponse {
    let mut ctx = Ctx::new(req, state, Interaction::Patch);
    let result = async {
        ctx.check()?;
        let rtype = ctx.resource_type(&path.0, true)?;
        let id = ctx.resource_id(&path.1)?;
        let body = read_body(&ctx.req, payload, &ctx.state).await?;
        let if_match = ctx.if_match()?;
        let patch_doc = parse_patch(&ctx.req, &body, ctx.state.max_json_nodes)?;
        let id2 = id.clone();
        let w = ctx
            .write_tx(move |svc, conn, audit| {
                patch_current(
                    svc,
                    conn,
                    rtype,
                    &id2,
                    if_match,
                    &patch_doc,
                    &mut |_| Ok(()),
                    audit,
                )
            })
            .await?;
        Ok::<Reply, FhirError>(written_reply(&ctx, rtype, w))
    }
    .await;
    ctx.finish(result).await
}
