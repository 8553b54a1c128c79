//! Type-level interactions: create (plain and conditional), search, conditional
//! update and delete, type history.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use fhirgate_validate::IssueCode;

use super::common::{write_reply, written_reply};
use super::instance::{delete_one, HistoryScopeOwned};
use crate::audit::Interaction;
use crate::fhir::context::{Ctx, Reply};
use crate::fhir::error::FhirError;
use crate::fhir::history::history_reply;
use crate::fhir::resource::{parse_resource, read_body, IdRule};
use crate::fhir::search::{self, conditional_criteria};
use crate::fhir::service::{writes_bookings, Written};
use crate::fhir::AppState;
use crate::model::{ResourceId, ResourceType};
use crate::store::resources;

type P1 = web::Path<String>;

fn criteria_key(ctx: &Ctx, rtype: ResourceType, query: &[(String, String)]) -> String {
    search::criteria_key(&ctx.state.tenant, rtype, query)
}

pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: P1,
    payload: web::Payload,
) -> HttpResponse {
    let mut ctx = Ctx::new(req, state, Interaction::Create);
    let result = do_create(&mut ctx, &path, payload).await;
    ctx.finish(result).await
}

async fn do_create(ctx: &mut Ctx, rtype: &str, payload: web::Payload) -> Result<Reply, FhirError> {
    ctx.check()?;
    let rtype = ctx.resource_type(rtype, true)?;
    let body = read_body(&ctx.req, payload, &ctx.state).await?;
    let resource = parse_resource(&ctx.req, &body, rtype, &ctx.state, IdRule::Ignore)?;
    // If-None-Exist: conditional create (http://hl7.org/fhir/R4/http.html#ccreate).
    let condition = match ctx.header(header::HeaderName::from_static("if-none-exist")) {
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
            ctx.audit.query = Some(q.to_owned());
            let criteria = conditional_criteria(&ctx.state.model.registry, rtype, &pairs)?;
            Some((criteria_key(ctx, rtype, &pairs), criteria))
        }
        None => None,
    };
    if condition.is_none() && !writes_bookings(rtype) {
        let w = ctx
            .write_one(move |svc, conn, ws, audit| {
                svc.create_staged(conn, ws, rtype, ResourceId::generate(), resource, audit)
            })
            .await?;
        return Ok(written_reply(ctx, rtype, w));
    }
    enum Outcome {
        Created(Written),
        Existing(resources::Version),
    }
    let outcome = ctx
        .write_tx(move |svc, conn, audit| {
            if let Some((key, criteria)) = &condition {
                search::lock_criteria(conn, key)?;
                let ix = svc.keyring.indexer(conn, svc.tenant.as_str())?;
                let ids = search::find_ids(conn, &ix, &svc.tenant, rtype, criteria, 2)?;
                match ids.as_slice() {
                    [] => {}
                    [one] => {
                        let v = resources::read(conn, &svc.keyring, &svc.tenant, rtype, one)?
                            .ok_or_else(|| {
                                FhirError::Internal("matched resource vanished".into())
                            })?;
                        audit.id = Some(one.to_string());
                        audit.version = Some(v.version_id);
                        return Ok(Outcome::Existing(v));
                    }
                    _ => {
                        return Err(FhirError::PreconditionFailed(
                            "If-None-Exist criteria match more than one resource".into(),
                        ))
                    }
                }
            }
            svc.create(conn, rtype, resource, audit)
                .map(Outcome::Created)
        })
        .await?;
    match outcome {
        Outcome::Created(w) => Ok(written_reply(ctx, rtype, w)),
        Outcome::Existing(v) => {
            let body = v.body.map(|b| b.0).unwrap_or_default();
            Ok(write_reply(
                ctx,
                rtype,
                &v.id,
                v.version_id,
                v.last_updated,
                body,
                StatusCode::OK,
            ))
        }
    }
}

pub async fn conditional_update(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: P1,
    payload: web::Payload,
) -> HttpResponse {
    let mut ctx = Ctx::new(req, state, Interaction::Update);
    let result = async {
        ctx.check()?;
        let rtype = ctx.resource_type(&path, true)?;
        let body = read_body(&ctx.req, payload, &ctx.state).await?;
        let resource = parse_resource(&ctx.req, &body, rtype, &ctx.state, IdRule::Optional)?;
        let body_id = resource
            .get("id")
            .and_then(|v| v.as_str())
            .and_then(ResourceId::parse);
        ctx.audit.query = Some(ctx.req.query_string().to_owned());
        let criteria = conditional_criteria(&ctx.state.model.registry, rtype, &ctx.query)?;
        let key = criteria_key(&ctx, rtype, &ctx.query);
        let if_match = ctx.if_match()?;
        // http://hl7.org/fhir/R4/http.html#cond-update: no match -> create (with the
        // body's id if it has one), one match -> update it, several -> 412.
        let w = ctx
            .write_tx(move |svc, conn, audit| {
                search::lock_criteria(conn, &key)?;
                let ix = svc.keyring.indexer(conn, svc.tenant.as_str())?;
                let ids = search::find_ids(conn, &ix, &svc.tenant, rtype, &criteria, 2)?;
                match (ids.as_slice(), body_id) {
                    ([], None) => svc.create(conn, rtype, resource, audit),
                    ([], Some(id)) => svc.update(conn, rtype, &id, resource, if_match, audit),
                    ([one], Some(id)) if *one != id => Err(FhirError::invalid(
                        IssueCode::Invalid,
                        Some(&format!("{rtype}.id")),
                        "the body's id differs from the id of the resource the criteria match",
                    )),
                    ([one], _) => {
                        let mut resource = resource;
                        resource.insert("id".into(), one.as_str().into());
                        svc.update(conn, rtype, one, resource, if_match, audit)
                    }
                    _ => Err(FhirError::PreconditionFailed(
                        "the criteria match more than one resource".into(),
                    )),
                }
            })
            .await?;
        Ok(written_reply(&ctx, rtype, w))
    }
    .await;
    ctx.finish(result).await
}

pub async fn conditional_delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: P1,
) -> HttpResponse {
    let mut ctx = Ctx::new(req, state, Interaction::Delete);
    let result = async {
        ctx.check()?;
        let rtype = ctx.resource_type(&path, true)?;
        ctx.audit.query = Some(ctx.req.query_string().to_owned());
        let criteria = conditional_criteria(&ctx.state.model.registry, rtype, &ctx.query)?;
        let (keyring, tenant) = (ctx.state.keyring.clone(), ctx.state.tenant.clone());
        let ids = ctx
            .state
            .db
            .run(move |conn| {
                let ix = keyring.indexer(conn, tenant.as_str())?;
                search::find_ids(conn, &ix, &tenant, rtype, &criteria, 2)
            })
            .await?;
        // http://hl7.org/fhir/R4/http.html#3.1.0.7.1: one match is deleted; several
        // get 412 (this server does not delete multiple); none is not an error.
        match ids.as_slice() {
            [] => Ok(Reply::new(StatusCode::NO_CONTENT, None)),
            [one] => {
                let id = one.clone();
                ctx.audit.id = Some(id.to_string());
                delete_one(&mut ctx, rtype, id).await
            }
            _ => Err(FhirError::PreconditionFailed(
                "the criteria match more than one resource".into(),
            )),
        }
    }
    .await;
    ctx.finish(result).await
}

pub async fn search_get(req: HttpRequest, state: web::Data<AppState>, path: P1) -> HttpResponse {
    let mut ctx = Ctx::new(req, state, Interaction::SearchType);
    let result = async {
        ctx.check()?;
        let rtype = ctx.resource_type(&path, false)?;
        let query = ctx.query.clone();
        crate::fhir::search::bundle::search_reply(&mut ctx, rtype, query).await
    }
    .await;
    ctx.finish(result).await
}

/// POST [type]/_search with form-encoded parameters (http://hl7.org/fhir/R4/http.html#search).
pub async fn search_post(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: P1,
    payload: web::Payload,
) -> HttpResponse {
    let mut ctx = Ctx::new(req, state, Interaction::SearchType);
    let result = async {
        ctx.check()?;
        let rtype = ctx.resource_type(&path, false)?;
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
        crate::fhir::search::bundle::search_reply(&mut ctx, rtype, query).await
    }
    .await;
    ctx.finish(result).await
}

pub async fn history(req: HttpRequest, state: web::Data<AppState>, path: P1) -> HttpResponse {
    let mut ctx = Ctx::new(req, state, Interaction::HistoryType);
    let result = async {
        ctx.check()?;
        let rtype = ctx.resource_type(&path, false)?;
        if rtype == ResourceType::AuditEvent {
            return Err(FhirError::MethodNotAllowed(
                "AuditEvents have no history; search them instead".into(),
            ));
        }
        history_reply(&ctx, HistoryScopeOwned::Type(rtype)).await
    }
    .await;
    ctx.finish(result).await
}
