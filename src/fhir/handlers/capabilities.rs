//! capabilities (http://hl7.org/fhir/R4/http.html#capabilities):
//! `GET [base]/metadata` answers the CapabilityStatement.

use actix_web::{HttpRequest, HttpResponse};

use super::common::interact;
use crate::audit::Interaction;
use crate::fhir::context::{Ctx, Site};
use crate::fhir::engine::Request;

pub async fn metadata(req: HttpRequest, state: Site) -> HttpResponse {
    let ctx = Ctx::new(req, state, Interaction::Capabilities);
    interact(ctx, async |_: &mut Ctx| Ok(Request::Capabilities)).await
}
