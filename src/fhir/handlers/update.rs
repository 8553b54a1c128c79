//! update (http://hl7.org/fhir/R4/http.html#update; If-Match:
//! http.html#concurrency) and conditional update (http.html#cond-update).

use actix_web::{web, HttpRequest, HttpResponse};

use super::body::{parse_resource, read_body};
use super::common::interact;
use crate::audit::Interaction;
use crate::fhir::context::{Ctx, Site};
use crate::fhir::engine::Request;
use crate::fhir::resource::IdRule;

pub async fn update(
    req: HttpRequest,
    state: Site,
    rtype: String,
    id: String,
    payload: web::Payload,
) -> HttpResponse {
    let ctx = Ctx::new(req, state, Interaction::Update);
    interact(ctx, async |ctx: &mut Ctx| {
        let rtype = ctx.resource_type(&rtype, true)?;
        let id = ctx.resource_id(&id)?;
        let body = read_body(&ctx.req, payload, &ctx.state).await?;
        let resource = parse_resource(&ctx.req, &body, rtype, &ctx.state, IdRule::MustEqual(&id))?;
        let if_match = ctx.if_match()?;
        Ok(Request::Update {
            rtype,
            id,
            resource,
            if_match,
        })
    })
    .await
}

pub async fn conditional_update(
    req: HttpRequest,
    state: Site,
    rtype: String,
    payload: web::Payload,
) -> HttpResponse {
    let ctx = Ctx::new(req, state, Interaction::Update);
    interact(ctx, async |ctx: &mut Ctx| {
        let rtype = ctx.resource_type(&rtype, true)?;
        let body = read_body(&ctx.req, payload, &ctx.state).await?;
        let resource = parse_resource(&ctx.req, &body, rtype, &ctx.state, IdRule::Optional)?;
        let raw = ctx.req.query_string().to_owned();
        ctx.audit.query = Some(raw.clone());
        let if_match = ctx.if_match()?;
        Ok(Request::ConditionalUpdate {
            rtype,
            query: ctx.query.clone(),
            raw,
            resource,
            if_match,
        })
    })
    .await
}
