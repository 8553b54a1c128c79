//! transaction and batch (http://hl7.org/fhir/R4/http.html#transaction):
//! `POST [base]` with a Bundle; the engine carries it out (engine/transaction).

use actix_web::{web, HttpRequest, HttpResponse};

use super::body::read_body;
use super::common::interact;
use crate::audit::Interaction;
use crate::fhir::context::{Ctx, Site};
use crate::fhir::engine::Request;
use crate::fhir::format::{input_format, parse_body};

pub async fn post(req: HttpRequest, state: Site, payload: web::Payload) -> HttpResponse {
    let ctx = Ctx::new(req, state, Interaction::Batch);
    interact(ctx, async |ctx: &mut Ctx| {
        let body = read_body(&ctx.req, payload, &ctx.state).await?;
        let bundle = parse_body(input_format(&ctx.req)?, &body, ctx.state.max_json_nodes)?;
        Ok(Request::Bundle { bundle })
    })
    .await
}
