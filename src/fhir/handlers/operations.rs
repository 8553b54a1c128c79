//! Operations: `Patient/[id]/$everything` and `Patient/$everything`
//! (http://hl7.org/fhir/R4/patient-operation-everything.html).

use actix_web::{HttpRequest, HttpResponse};

use super::common::interact;
use crate::audit::Interaction;
use crate::fhir::context::{Ctx, Site};
use crate::fhir::engine::Request;
use crate::fhir::error::FhirError;

use crate::model::ResourceId;

pub async fn everything_instance(req: HttpRequest, state: Site, id: String) -> HttpResponse {
    let ctx = Ctx::new(req, state, Interaction::Operation);
    interact(ctx, async |ctx: &mut Ctx| {
        ctx.audit.resource_type = Some("Patient".into());
        let id =
            ResourceId::parse(&id).ok_or_else(|| FhirError::NotFound("no such Patient".into()))?;
        Ok(Request::Everything {
            patient: Some(id),
            query: ctx.query.clone(),
        })
    })
    .await
}

pub async fn everything_type(req: HttpRequest, state: Site) -> HttpResponse {
    let ctx = Ctx::new(req, state, Interaction::Operation);
    interact(ctx, async |ctx: &mut Ctx| {
        Ok(Request::Everything {
            patient: None,
            query: ctx.query.clone(),
        })
    })
    .await
}
