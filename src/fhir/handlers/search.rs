//! search (http://hl7.org/fhir/R4/http.html#search): `GET [type]?` and
//! `POST [type]/_search` with form-encoded parameters (search.html#2.21.1.2).

use actix_web::{web, HttpRequest, HttpResponse};
use fhirgate_validate::IssueCode;

use super::body::read_body;
use super::common::interact;
use crate::audit::Interaction;
use crate::fhir::context::{Ctx, Site};
use crate::fhir::engine::Request;
use crate::fhir::error::FhirError;

pub async fn search_get(req: HttpRequest, state: Site, rtype: String) -> HttpResponse {
    let ctx = Ctx::new(req, state, Interaction::SearchType);
    interact(ctx, async |ctx: &mut Ctx| {
        let rtype = ctx.resource_type(&rtype, false)?;
        Ok(Request::Search {
            rtype,
            query: ctx.query.clone(),
            strict: ctx.handling_strict(),
        })
    })
    .await
}

pub async fn search_post(
    req: HttpRequest,
    state: Site,
    rtype: String,
    payload: web::Payload,
) -> HttpResponse {
    let ctx = Ctx::new(req, state, Interaction::SearchType);
    interact(ctx, async |ctx: &mut Ctx| {
        let rtype = ctx.resource_type(&rtype, false)?;
        let body = read_body(&ctx.req, payload, &ctx.state).await?;
        let form = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body).map_err(|_| {
            FhirError::invalid(
                IssueCode::Structure,
                None,
                "the _search body must be application/x-www-form-urlencoded",
            )
        })?;
        let mut query = ctx.query.clone();
        query.extend(form);
        Ok(Request::Search {
            rtype,
            query,
            strict: ctx.handling_strict(),
        })
    })
    .await
}
