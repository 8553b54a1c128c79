//! patch (http://hl7.org/fhir/R4/http.html#patch): JSON Patch
//! (`application/json-patch+json`, RFC 6902) or FHIRPath Patch (a Parameters
//! resource, http://hl7.org/fhir/R4/fhirpatch.html), told apart by Content-Type.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use super::body::read_body;
use super::common::interact;
use crate::audit::Interaction;
use crate::fhir::context::{Ctx, Site};
use crate::fhir::engine::Request;
use crate::fhir::error::FhirError;
use crate::fhir::format::{input_format, parse_body};
use crate::fhir::patch::{json_patch_doc, PatchDoc};

pub async fn patch(
    req: HttpRequest,
    state: Site,
    rtype: String,
    id: String,
    payload: web::Payload,
) -> HttpResponse {
    let ctx = Ctx::new(req, state, Interaction::Patch);
    interact(ctx, async |ctx: &mut Ctx| {
        let rtype = ctx.resource_type(&rtype, true)?;
        let id = ctx.resource_id(&id)?;
        let body = read_body(&ctx.req, payload, &ctx.state).await?;
        let if_match = ctx.if_match()?;
        let patch = parse_patch(&ctx.req, &body, ctx.state.max_json_nodes)?;
        Ok(Request::Patch {
            rtype,
            id,
            patch,
            if_match,
        })
    })
    .await
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
