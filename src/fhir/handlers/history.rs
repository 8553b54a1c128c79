//! history (http://hl7.org/fhir/R4/http.html#history) at instance, type and
//! system level.

use actix_web::{HttpRequest, HttpResponse};

use super::common::interact;
use crate::audit::Interaction;
use crate::fhir::context::{Ctx, Site};
use crate::fhir::engine::{HistoryLevel, Request};

fn request(ctx: &Ctx, level: HistoryLevel) -> Request {
    Request::History {
        level,
        query: ctx.query.clone(),
        raw: ctx.req.query_string().to_owned(),
    }
}

pub async fn instance(req: HttpRequest, state: Site, rtype: String, id: String) -> HttpResponse {
    let ctx = Ctx::new(req, state, Interaction::HistoryInstance);
    interact(ctx, async |ctx: &mut Ctx| {
        let rtype = ctx.resource_type(&rtype, false)?;
        let id = ctx.resource_id(&id)?;
        Ok(request(ctx, HistoryLevel::Instance(rtype, id)))
    })
    .await
}

pub async fn type_level(req: HttpRequest, state: Site, rtype: String) -> HttpResponse {
    let ctx = Ctx::new(req, state, Interaction::HistoryType);
    interact(ctx, async |ctx: &mut Ctx| {
        let rtype = ctx.resource_type(&rtype, false)?;
        Ok(request(ctx, HistoryLevel::Type(rtype)))
    })
    .await
}

/// `GET [base]/_history`: every version of every served resource, newest first.
pub async fn system(req: HttpRequest, state: Site) -> HttpResponse {
    let ctx = Ctx::new(req, state, Interaction::HistorySystem);
    interact(ctx, async |ctx: &mut Ctx| {
        Ok(request(ctx, HistoryLevel::System))
    })
    .await
}
