//! create (http://hl7.org/fhir/R4/http.html#create) and conditional create
//! with If-None-Exist (http.html#ccreate).

use actix_web::http::header::HeaderName;
use actix_web::{web, HttpRequest, HttpResponse};
use fhirgate_validate::IssueCode;

use super::body::{parse_resource, read_body};
use super::common::interact;
use crate::audit::Interaction;
use crate::fhir::context::{Ctx, Site};
use crate::fhir::engine::Request;
use crate::fhir::error::FhirError;
use crate::fhir::resource::IdRule;

pub async fn create(
    req: HttpRequest,
    state: Site,
    rtype: String,
    payload: web::Payload,
) -> HttpResponse {
    let ctx = Ctx::new(req, state, Interaction::Create);
    interact(ctx, async |ctx: &mut Ctx| {
        let rtype = ctx.resource_type(&rtype, true)?;
        let body = read_body(&ctx.req, payload, &ctx.state).await?;
        let resource = parse_resource(&ctx.req, &body, rtype, &ctx.state, IdRule::Ignore)?;
        let if_none_exist = match ctx.header(HeaderName::from_static("if-none-exist")) {
            Some(q) => {
                let pairs =
                    serde_urlencoded::from_str::<Vec<(String, String)>>(q.trim_start_matches('?'))
                        .map_err(|_| {
                            FhirError::invalid(
                                IssueCode::Invalid,
                                None,
                                "If-None-Exist is not a valid query",
                            )
                        })?;
                Some((q.to_owned(), pairs))
            }
            None => None,
        };
        Ok(Request::Create {
            rtype,
            resource,
            if_none_exist,
        })
    })
    .await
}
