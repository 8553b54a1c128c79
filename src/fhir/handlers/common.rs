//! Pieces every handler shares.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use fhirgate_validate::IssueCode;

use crate::audit::Interaction;
use crate::fhir::context::{Ctx, Reply, Site};
use crate::fhir::engine::{Current, Outcome, Request};
use crate::fhir::error::FhirError;
use crate::fhir::preconditions::{bad_if_match, etag, parse_etag};
use crate::fhir::resource::instant;
use crate::fhir::AppState;
use crate::model::{ResourceId, ResourceType};

/// An unknown path outside every FHIR base: audited for the default tenant.
pub async fn not_found(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    not_found_in(req, Site(state.into_inner())).await
}

/// An unknown path under a tenant's base: audited for that tenant.
pub async fn not_found_in(req: HttpRequest, state: Site) -> HttpResponse {
    let ctx = Ctx::new(req, state, Interaction::Operation);
    ctx.finish(Err(FhirError::NotFound(
        "no FHIR endpoint at this path".into(),
    )))
    .await
}

pub async fn method_not_allowed(req: HttpRequest, state: Site) -> HttpResponse {
    let method = req.method().to_string();
    let ctx = Ctx::new(req, state, Interaction::Operation);
    ctx.finish(Err(FhirError::MethodNotAllowed(format!(
        "{method} is not supported at this path"
    ))))
    .await
}

impl Ctx {
    /// The served type named in the URL; unknown types are 404 (http.html#2.21.0.17).
    pub fn resource_type(&mut self, name: &str, writing: bool) -> Result<ResourceType, FhirError> {
        let rtype = ResourceType::parse(name).ok_or_else(|| {
            FhirError::NotFound(format!(
                "resource type {:?} is not served here",
                name.chars().take(64).collect::<String>()
            ))
        })?;
        self.audit.resource_type = Some(rtype.as_str().to_owned());
        if writing && !rtype.client_writable() {
            return Err(FhirError::MethodNotAllowed(format!(
                "{rtype} resources are written by the server only"
            )));
        }
        Ok(rtype)
    }

    pub fn resource_id(&mut self, raw: &str) -> Result<ResourceId, FhirError> {
        let id = ResourceId::parse(raw).ok_or_else(|| {
            FhirError::invalid(
                IssueCode::Value,
                None,
                "the id in the URL must match [A-Za-z0-9\\-\\.]{1,64}",
            )
        })?;
        self.audit.id = Some(id.to_string());
        Ok(id)
    }

    pub fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.req.headers().get(name).and_then(|v| v.to_str().ok())
    }

    pub fn if_match(&self) -> Result<Option<i32>, FhirError> {
        match self.header(header::IF_MATCH) {
            None => Ok(None),
            Some(v) => parse_etag(v).map(Some).ok_or_else(|| bad_if_match(v)),
        }
    }

    /// Prefer: return= (http://hl7.org/fhir/R4/http.html#ops).
    pub fn prefer_return(&self) -> &str {
        self.req
            .headers()
            .get_all("prefer")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .find_map(|p| p.trim().strip_prefix("return="))
            .unwrap_or("representation")
    }

    pub fn handling_strict(&self) -> bool {
        self.req
            .headers()
            .get_all("prefer")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|p| p.trim() == "handling=strict")
    }

    pub fn location(&self, rtype: ResourceType, id: &ResourceId, version: i32) -> String {
        format!("{}/{rtype}/{id}/_history/{version}", self.base())
    }
}

pub fn http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// The HTTP answer to an engine outcome (http.html: read 200 with ETag and
/// Last-Modified; create 201 and update 200 with Location, shaped by
/// `Prefer: return=`; delete 204; 304 for a conditional read).
pub fn render(ctx: &Ctx, outcome: Outcome) -> Reply {
    match outcome {
        Outcome::Read(c) => Reply::new(StatusCode::OK, Some(c.body))
            .header(header::ETAG, etag(c.version_id))
            .header(header::LAST_MODIFIED, http_date(c.last_updated)),
        Outcome::NotModified { version_id } => {
            Reply::new(StatusCode::NOT_MODIFIED, None).header(header::ETAG, etag(version_id))
        }
        Outcome::Written { current, created } => {
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            write_reply(ctx, current, status)
        }
        Outcome::Matched(current) => write_reply(ctx, current, StatusCode::OK),
        Outcome::Deleted { version_id } => {
            let reply = Reply::new(StatusCode::NO_CONTENT, None);
            match version_id {
                Some(v) => reply.header(header::ETAG, etag(v)),
                None => reply,
            }
        }
        Outcome::Document(json) => Reply::new(StatusCode::OK, Some(json)),
    }
}

/// The reply to a successful create or update, shaped by Prefer: return=.
fn write_reply(ctx: &Ctx, c: Current, status: StatusCode) -> Reply {
    let (rtype, id, version) = (c.rtype, &c.id, c.version_id);
    let payload = match ctx.prefer_return() {
        "minimal" => None,
        "OperationOutcome" => {
            let text = format!(
                "{rtype}/{id} version {version} stored at {}",
                instant(c.last_updated)
            );
            let oo = serde_json::json!({"resourceType": "OperationOutcome", "issue": [{"severity": "information", "code": "informational", "diagnostics": text}]});
            serde_json::to_vec(&oo).ok()
        }
        _ => Some(c.body),
    };
    Reply::new(status, payload)
        .header(header::ETAG, etag(version))
        .header(header::LAST_MODIFIED, http_date(c.last_updated))
        .header(header::LOCATION, ctx.location(rtype, id, version))
}

/// Runs one interaction: `parse` turns the request into the engine's
/// [`Request`] (any error there is the client's), the engine carries it out,
/// and the outcome is rendered; the context audits what never reached the engine.
pub async fn interact<F>(mut ctx: Ctx, parse: F) -> HttpResponse
where
    F: AsyncFnOnce(&mut Ctx) -> Result<Request, FhirError>,
{
    let result = async {
        ctx.check()?;
        // A tenant over its limit is refused before its token is verified or
        // its body read (issue #18, fairness): whatever it asks would be. The
        // answer is held a moment (limits/rate.rs `hold`), as nginx's
        // limit_req delays what exceeds its rate: a client that retries as
        // soon as it is answered then asks ten times a second per
        // connection, not thousands, and its refusals cost the other tenants
        // next to nothing.
        let (tenant, interaction) = (&ctx.state.tenant, ctx.audit.interaction);
        if let Some(wait) = ctx
            .state
            .engine
            .tenant_refused(tenant, interaction, &ctx.query)
        {
            let held = crate::limits::rate::hold(wait);
            tokio::time::sleep(held).await;
            let secs = crate::limits::rate::retry_after_secs(wait.saturating_sub(held));
            return Err(FhirError::TooManyRequests(secs));
        }
        // GET [base]/metadata stays public (SMART App Launch 2.0.0
        // conformance.html: clients discover the endpoints there).
        if !matches!(ctx.audit.interaction, Interaction::Capabilities) {
            ctx.authenticate().await?;
        }
        let request = parse(&mut ctx).await?;
        let outcome = ctx.run(request).await?;
        Ok(render(&ctx, outcome))
    }
    .await;
    ctx.finish(result).await
}
