//! capabilities (http://hl7.org/fhir/R4/http.html#capabilities):
//! `GET [base]/metadata` answers the CapabilityStatement.

use actix_web::{web, HttpRequest, HttpResponse};

use super::common::interact;
use crate::audit::Interaction;
use crate::fhir::context::Ctx;
use crate::fhir::engine::Request;
use crate::fhir::AppState;

pub async fn metadata(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let ctx = Ctx::new(req, state, Interaction::Capabilities);
    interact(ctx, async |_: &mut Ctx| Ok(Request::Capabilities)).await
}
