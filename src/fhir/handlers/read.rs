//! read (http://hl7.org/fhir/R4/http.html#read) with the conditional read of
//! http.html#cread (If-None-Match, If-Modified-Since), and vread
//! (http.html#vread).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};

use super::common::interact;
use crate::audit::Interaction;
use crate::fhir::context::{Ctx, Site};
use crate::fhir::engine::{ReadPreconditions, Request};
use crate::fhir::error::FhirError;
use crate::fhir::preconditions::http_date;

pub async fn read(req: HttpRequest, state: Site, rtype: String, id: String) -> HttpResponse {
    let ctx = Ctx::new(req, state, Interaction::Read);
    interact(ctx, async |ctx: &mut Ctx| {
        let rtype = ctx.resource_type(&rtype, false)?;
        let id = ctx.resource_id(&id)?;
        let preconditions = ReadPreconditions {
            if_none_match: ctx.header(header::IF_NONE_MATCH).map(str::to_owned),
            if_modified_since: ctx.header(header::IF_MODIFIED_SINCE).and_then(http_date),
        };
        Ok(Request::Read {
            rtype,
            id,
            preconditions,
        })
    })
    .await
}

pub async fn vread(
    req: HttpRequest,
    state: Site,
    rtype: String,
    id: String,
    version: String,
) -> HttpResponse {
    let ctx = Ctx::new(req, state, Interaction::Vread);
    interact(ctx, async |ctx: &mut Ctx| {
        let version = version
            .parse::<i32>()
            .ok()
            .filter(|v| *v > 0)
            .ok_or_else(|| FhirError::NotFound("no such version".into()))?;
        let rtype = ctx.resource_type(&rtype, false)?;
        let id = ctx.resource_id(&id)?;
        Ok(Request::Vread { rtype, id, version })
    })
    .await
}
