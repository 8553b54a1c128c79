//! Instance-level interactions: read, vread, update, delete, history.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use super::common::{etag, http_date, written_reply};
use super::conditional_read;
use crate::audit::{patient_refs, Interaction};
use crate::fhir::context::{Ctx, Reply};
use crate::fhir::error::FhirError;
use crate::fhir::history::history_reply;
use crate::fhir::resource::{parse_resource, read_body, IdRule};
use crate::fhir::AppState;
use crate::model::{ResourceId, ResourceType};
use crate::store;
use crate::store::resources::{self, HistoryScope, Version};

type P2 = web::Path<(String, String)>;

pub async fn read(req: HttpRequest, state: web::Data<AppState>, path: P2) -> HttpResponse {
    let mut ctx = Ctx::new(req, state, Interaction::Read);
    let result = do_read(&mut ctx, &path.0, &path.1, None).await;
    ctx.finish(result).await
}

pub async fn vread(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
) -> HttpResponse {
    let mut ctx = Ctx::new(req, state, Interaction::Vread);
    let version = path.2.parse::<i32>().ok().filter(|v| *v > 0);
    let result = match version {
        Some(v) => do_read(&mut ctx, &path.0, &path.1, Some(v)).await,
        None => Err(FhirError::NotFound("no such version".into())),
    };
    ctx.finish(result).await
}

async fn do_read(
    ctx: &mut Ctx,
    rtype: &str,
    id: &str,
    version: Option<i32>,
) -> Result<Reply, FhirError> {
    ctx.check()?;
    let rtype = ctx.resource_type(rtype, false)?;
    let id = ctx.resource_id(id)?;
    let (keyring, tenant) = (ctx.state.keyring.clone(), ctx.state.tenant.clone());
    let found: Option<Version> = if rtype == ResourceType::AuditEvent {
        let id2 = id.clone();
        let row = ctx
            .state
            .db
            .read(move |conn| store::audit::read(conn, &keyring, &tenant, &id2))
            .await?;
        row.filter(|_| version.is_none_or(|v| v == store::audit::AUDIT_VERSION))
            .map(|(recorded, body)| Version {
                resource_type: rtype,
                id: id.clone(),
                version_id: store::audit::AUDIT_VERSION,
                last_updated: recorded,
                method: resources::Method::Post,
                body: Some(body),
            })
    } else {
        let id2 = id.clone();
        ctx.state
            .db
            .read(move |conn| match version {
                None => resources::read(conn, &keyring, &tenant, rtype, &id2),
                Some(v) => resources::read_version(conn, &keyring, &tenant, rtype, &id2, v),
            })
            .await?
    };
    let Some(found) = found else {
        return Err(FhirError::NotFound(match version {
            None => format!("{rtype}/{id} does not exist"),
            Some(v) => format!("{rtype}/{id} has no version {v}"),
        }));
    };
    ctx.audit.version = Some(found.version_id);
    let Some(body) = found.body else {
        return Err(FhirError::Gone(format!(
            "{rtype}/{id} was deleted (version {})",
            found.version_id
        )));
    };
    ctx.audit.patients = match rtype {
        ResourceType::Patient => vec![format!("Patient/{id}")],
        _ => serde_json::from_slice(&body.0)
            .map(|v| patient_refs(rtype.as_str(), None, &v))
            .unwrap_or_default(),
    };
    let tag = etag(found.version_id);
    // http.html#cread: a read (not a vread) honours If-None-Match and
    // If-Modified-Since. The Last-Modified sent is cut to whole seconds, so the
    // date a client sends back is compared with the time cut the same way.
    let since = ctx
        .header(header::IF_MODIFIED_SINCE)
        .and_then(conditional_read::http_date);
    let unchanged = conditional_read::not_modified(
        ctx.header(header::IF_NONE_MATCH),
        since,
        found.version_id,
        conditional_read::whole_seconds(found.last_updated),
    );
    if version.is_none() && unchanged {
        return Ok(Reply::new(StatusCode::NOT_MODIFIED, None).header(header::ETAG, tag));
    }
    Ok(Reply::new(StatusCode::OK, Some(body.0))
        .header(header::ETAG, tag)
        .header(header::LAST_MODIFIED, http_date(found.last_updated)))
}

pub async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: P2,
    payload: web::Payload,
) -> HttpResponse {
    let mut ctx = Ctx::new(req, state, Interaction::Update);
    let result = do_update(&mut ctx, &path.0, &path.1, payload).await;
    ctx.finish(result).await
}

async fn do_update(
    ctx: &mut Ctx,
    rtype: &str,
    id: &str,
    payload: web::Payload,
) -> Result<Reply, FhirError> {
    ctx.check()?;
    let rtype = ctx.resource_type(rtype, true)?;
    let id = ctx.resource_id(id)?;
    let body = read_body(&ctx.req, payload, &ctx.state).await?;
    let resource = parse_resource(&ctx.req, &body, rtype, &ctx.state, IdRule::MustEqual(&id))?;
    let if_match = ctx.if_match()?;
    let id2 = id.clone();
    let w = ctx
        .write_tx(move |svc, conn, audit| svc.update(conn, rtype, &id2, resource, if_match, audit))
        .await?;
    Ok(written_reply(ctx, rtype, w))
}

pub async fn delete(req: HttpRequest, state: web::Data<AppState>, path: P2) -> HttpResponse {
    let mut ctx = Ctx::new(req, state, Interaction::Delete);
    let result = do_delete(&mut ctx, &path.0, &path.1).await;
    ctx.finish(result).await
}

async fn do_delete(ctx: &mut Ctx, rtype: &str, id: &str) -> Result<Reply, FhirError> {
    ctx.check()?;
    let rtype = ctx.resource_type(rtype, true)?;
    let id: ResourceId = ctx.resource_id(id)?;
    delete_one(ctx, rtype, id).await
}

/// Deletes one resource and answers 204 (http://hl7.org/fhir/R4/http.html#delete).
pub async fn delete_one(
    ctx: &mut Ctx,
    rtype: ResourceType,
    id: ResourceId,
) -> Result<Reply, FhirError> {
    let deleted = ctx
        .write_tx(move |svc, conn, audit| svc.delete(conn, rtype, &id, audit))
        .await?;
    let reply = Reply::new(StatusCode::NO_CONTENT, None);
    Ok(match deleted {
        Some(v) => reply.header(header::ETAG, etag(v)),
        None => reply,
    })
}

pub async fn history(req: HttpRequest, state: web::Data<AppState>, path: P2) -> HttpResponse {
    let mut ctx = Ctx::new(req, state, Interaction::HistoryInstance);
    let result = async {
        ctx.check()?;
        let rtype = ctx.resource_type(&path.0, false)?;
        let id = ctx.resource_id(&path.1)?;
        if rtype == ResourceType::AuditEvent {
            return Err(FhirError::MethodNotAllowed(
                "AuditEvents have no history".into(),
            ));
        }
        history_reply(&ctx, HistoryScopeOwned::Instance(rtype, id)).await
    }
    .await;
    ctx.finish(result).await
}

/// An owned [`HistoryScope`], to move into a blocking closure.
pub enum HistoryScopeOwned {
    Instance(ResourceType, ResourceId),
    Type(ResourceType),
    System,
}

impl HistoryScopeOwned {
    pub fn borrow(&self) -> HistoryScope<'_> {
        match self {
            HistoryScopeOwned::Instance(t, id) => HistoryScope::Instance(*t, id),
            HistoryScopeOwned::Type(t) => HistoryScope::Type(*t),
            HistoryScopeOwned::System => HistoryScope::System,
        }
    }
}
