//! delete (http://hl7.org/fhir/R4/http.html#delete) and conditional delete
//! (http.html#3.1.0.7.1).

use actix_web::{HttpRequest, HttpResponse};

use super::common::interact;
use crate::audit::Interaction;
use crate::fhir::context::{Ctx, Site};
use crate::fhir::engine::Request;

pub async fn delete(req: HttpRequest, state: Site, rtype: String, id: String) -> HttpResponse {
    let ctx = Ctx::new(req, state, Interaction::Delete);
    interact(ctx, async |ctx: &mut Ctx| {
        let rtype = ctx.resource_type(&rtype, true)?;
        let id = ctx.resource_id(&id)?;
        Ok(Request::Delete { rtype, id })
    })
    .await
}

pub async fn conditional_delete(req: HttpRequest, state: Site, rtype: String) -> HttpResponse {
    let ctx = Ctx::new(req, state, Interaction::Delete);
    interact(ctx, async |ctx: &mut Ctx| {
        let rtype = ctx.resource_type(&rtype, true)?;
        let raw = ctx.req.query_string().to_owned();
        ctx.audit.query = Some(raw.clone());
        Ok(Request::ConditionalDelete {
            rtype,
            query: ctx.query.clone(),
            raw,
        })
    })
    .await
}
