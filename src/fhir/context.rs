//! Per-request context: negotiated format, base URL, the audit record being
//! filled in, and the one place a handler's result becomes an HTTP response
//! (and its AuditEvent is queued, if the write did not already commit one).

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use fhirgate_validate::IssueCode;

use super::engine::{Interaction, Origin, Outcome, Principal, Request};
use super::error::FhirError;
use super::format::{negotiate, Format, Output};
use super::AppState;
use crate::audit::{self, AuditRecord};

/// A header some clients send to name their clinic: checked against the
/// base's tenant, never used to choose it.
pub const CLINIC_HEADER: &str = "x-clinic-id";

pub struct Ctx {
    pub state: Site,
    pub req: HttpRequest,
    pub query: Vec<(String, String)>,
    pub output: Result<Output, FhirError>,
    /// The record of a request refused before it reached the engine (the
    /// engine audits every interaction it is given).
    pub audit: AuditRecord,
    /// The FHIR base, or why the request's Host is refused (src/fhir/base.rs).
    base: Result<String, FhirError>,
    /// Set once the request went to the engine, which audited it.
    handed_over: bool,
    /// Who the request acts as, once its bearer token is verified
    /// ([`Ctx::authenticate`]).
    principal: Option<Principal>,
}

/// A successful result: status, JSON body (None for no body) and extra headers.
pub struct Reply {
    pub status: StatusCode,
    pub body: Option<Vec<u8>>,
    pub headers: Vec<(header::HeaderName, String)>,
}

impl Reply {
    pub fn new(status: StatusCode, body: Option<Vec<u8>>) -> Self {
        Self {
            status,
            body,
            headers: Vec::new(),
        }
    }

    pub fn header(mut self, name: header::HeaderName, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
}

impl Ctx {
    pub fn new(req: HttpRequest, state: Site, interaction: audit::Interaction) -> Self {
        let query = serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string());
        let (query, query_err) = match query {
            Ok(q) => (q, None),
            Err(_) => (
                Vec::new(),
                Some(FhirError::invalid(
                    IssueCode::Structure,
                    None,
                    "the query string is not valid form encoding",
                )),
            ),
        };
        let output = match query_err {
            Some(e) => Err(e),
            None => negotiate(&req, &query),
        };
        let mut audit = AuditRecord::new(interaction);
        audit.client_addr = req.peer_addr().map(|a| a.ip().to_string());
        audit.server_addr = Some(req.app_config().local_addr().ip().to_string());
        let base = state.base.for_request(&req);
        Self {
            state,
            req,
            query,
            output,
            audit,
            base,
            handed_over: false,
            principal: None,
        }
    }

    /// Verifies the request's bearer token (RFC 6750 section 2.1: the
    /// `Authorization: Bearer` header; a token in the query or form is not
    /// accepted, section 2.2-2.3 being discouraged for exactly this data) and
    /// makes its grant the request's principal. 401 with a `WWW-Authenticate`
    /// challenge when it is missing or not valid (context.rs renders it).
    pub async fn authenticate(&mut self) -> Result<(), FhirError> {
        // The clinic is the one the base URL names (issue #18); a clinic
        // header may confirm it, never choose it.
        if let Some(v) = self.req.headers().get(CLINIC_HEADER) {
            if v.as_bytes() != self.state.tenant.as_str().as_bytes() {
                return Err(FhirError::invalid(
                    IssueCode::Value,
                    None,
                    "X-Clinic-ID does not name the clinic of this FHIR base: the base URL \
                     chooses the clinic, the header may only confirm it",
                ));
            }
        }
        if let Some(p) = &self.state.fixed_principal {
            self.principal = Some(p.clone());
            return Ok(());
        }
        let unauthorized =
            |error: Option<&'static str>, description: &str| FhirError::Unauthorized {
                error,
                description: description.to_owned(),
            };
        let Some(value) = self.req.headers().get(header::AUTHORIZATION) else {
            return Err(unauthorized(None, "a bearer token is required (SMART on FHIR: see [base]/.well-known/smart-configuration)"));
        };
        let value = value.to_str().unwrap_or("");
        let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
        // RFC 6750 3: a request "attempted using an unsupported authentication
        // method" (Basic, ...) gets the challenge without an error code.
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(unauthorized(
                None,
                "a bearer token is required (SMART on FHIR: see [base]/.well-known/smart-configuration)",
            ));
        }
        let token = Some(rest.trim()).filter(|t| !t.is_empty()).ok_or_else(|| {
            unauthorized(
                Some("invalid_request"),
                "the Authorization header must be `Bearer <token>`",
            )
        })?;
        let base = self.base.as_ref().ok().cloned();
        match self.state.authority.verify(token, base.as_deref()).await {
            Ok(claims) => {
                let principal = Principal::from_grant(claims.grant());
                if let Some(actor) = principal.actor() {
                    self.audit.user = actor.user.clone();
                    self.audit.client_id = actor.client_id.clone();
                }
                self.principal = Some(principal);
                Ok(())
            }
            Err(e) => match e.code() {
                Some(code) => Err(unauthorized(Some(code), &e.to_string())),
                None => match e {
                    crate::auth::AuthError::Missing => {
                        Err(unauthorized(None, "a bearer token is required"))
                    }
                    other => Err(FhirError::Internal(other.to_string())),
                },
            },
        }
    }

    /// Hands `request` to the engine as this request's interaction (the
    /// default tenant, the request's principal, its base and addresses).
    pub async fn run(&mut self, request: Request) -> Result<Outcome, FhirError> {
        let interaction = Interaction {
            tenant: self.state.tenant.clone(),
            // Never reached without `authenticate` (common::interact); should
            // it be, the request may do nothing.
            principal: self
                .principal
                .clone()
                .unwrap_or_else(Principal::refused_everything),
            base: self.base(),
            origin: Origin {
                client_addr: self.audit.client_addr.clone(),
                server_addr: self.audit.server_addr.clone(),
            },
            request,
        };
        self.handed_over = true;
        self.state.engine.run(interaction).await
    }

    /// The FHIR base URL for links, Location and fullUrl (src/fhir/base.rs).
    /// A refused Host fails [`Ctx::check`]; should a handler build a link
    /// without checking, it gets the address the request came in on.
    pub fn base(&self) -> String {
        match &self.base {
            Ok(b) => b.clone(),
            Err(_) => self.state.base.for_server(
                self.req.app_config().local_addr(),
                self.req.app_config().secure(),
            ),
        }
    }

    /// Errors found while building the context (a refused Host, a bad query
    /// string, no acceptable format).
    pub fn check(&self) -> Result<Output, FhirError> {
        if let Err(e) = &self.base {
            return Err(e.clone());
        }
        self.output.clone()
    }

    /// Renders the result and records the interaction's AuditEvent.
    pub async fn finish(mut self, result: Result<Reply, FhirError>) -> HttpResponse {
        let output = self.output.as_ref().map(|o| *o).unwrap_or(Output {
            format: Format::Json,
            pretty: false,
        });
        if let Err(e) = &result {
            let m = &self.state.metrics;
            let counter = match e {
                FhirError::BodyTimeout(_) => Some(&m.body_timeouts),
                FhirError::TooManyNodes(_) => Some(&m.json_nodes_refused),
                FhirError::Busy(_) => Some(&m.parse_budget_refused),
                FhirError::TooManyRequests(_) => Some(&m.rate_limited),
                _ => None,
            };
            if let Some(c) = counter {
                c.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
        let response = match result {
            Ok(reply) => render_reply(output, reply),
            Err(e) => render_error(output, &e),
        };
        self.state
            .tenant_metrics
            .http_response(response.status().as_u16());
        if !self.handed_over {
            self.audit.status = response.status().as_u16();
            self.state.engine.record_unparsed(self.audit).await;
        }
        response
    }
}

/// Every FHIR answer may carry PHI: a resource, a search or history page, a
/// transaction's results, or an error that names what the request held. No
/// cache may keep a copy, not even the browser's own on a shared workstation
/// (which `private` would allow), so `no-store` (RFC 9111 5.2.2.5) on every
/// one (docs/security.md). Conditional reads need no cache: a client keeps the
/// ETag it was given and sends If-None-Match itself.
const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");

fn render_reply(output: Output, reply: Reply) -> HttpResponse {
    let mut builder = HttpResponse::build(reply.status);
    builder.insert_header((header::CACHE_CONTROL, NO_STORE));
    for (name, value) in reply.headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            builder.insert_header((name, v));
        }
    }
    match reply.body {
        None => builder.finish(),
        Some(json) => match super::format::render(output, &json) {
            Ok(bytes) => builder
                .content_type(output.format.content_type())
                .body(bytes),
            Err(e) => render_error(output, &e),
        },
    }
}

pub fn render_error(output: Output, err: &FhirError) -> HttpResponse {
    match err {
        FhirError::Internal(m) => {
            // Internal messages name tables and constraints, never PHI (store errors
            // carry no values), so they may be logged.
            tracing::error!(status = %err.status(), error = %m, "request failed");
        }
        // The outage itself is logged once, by the pool (src/store/health.rs).
        FhirError::Unavailable(m) => {
            tracing::debug!(status = %err.status(), error = %m, "database unavailable")
        }
        FhirError::Transient(m) => {
            tracing::warn!(status = %err.status(), error = %m, "request aborted by a concurrent one");
        }
        _ => tracing::debug!(status = %err.status(), "request refused"),
    }
    let oo = err.to_operation_outcome();
    let json = serde_json::to_vec(&oo).unwrap_or_default();
    let body = super::format::render(output, &json).unwrap_or(json);
    let format = if body.first() == Some(&b'<') {
        Format::Xml
    } else {
        Format::Json
    };
    let mut builder = HttpResponse::build(err.status());
    builder.insert_header((header::CACHE_CONTROL, NO_STORE));
    if let Some(secs) = err.retry_after() {
        builder.insert_header((header::RETRY_AFTER, secs.to_string()));
    }
    if let Some(challenge) = err.bearer_challenge() {
        builder.insert_header((header::WWW_AUTHENTICATE, challenge));
    }
    match err {
        // RFC 9110 section 10.2.3; the body was not read, so the connection cannot
        // carry another request.
        FhirError::Busy(_) => {
            builder.force_close();
        }
        // RFC 9110 section 15.5.9: the server closes the connection after a 408.
        FhirError::BodyTimeout(_) => {
            builder.force_close();
        }
        _ => {}
    }
    builder.content_type(format.content_type()).body(body)
}

/// The tenant site a request came to (`/fhir` or `/t/{tenant}/fhir`, the
/// `tenant` path segment of handlers/mod.rs), from the tenants' registry
/// (fhir/tenancy.rs). A base no tenant serves is 404, whether the tenant does
/// not exist or is disabled.
#[derive(Clone)]
pub struct Site(pub std::sync::Arc<AppState>);

impl std::ops::Deref for Site {
    type Target = AppState;
    fn deref(&self) -> &AppState {
        &self.0
    }
}

impl actix_web::FromRequest for Site {
    type Error = actix_web::Error;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let tenancy = req
            .app_data::<web::Data<crate::fhir::tenancy::Tenancy>>()
            .cloned();
        let slug = req.match_info().get("tenant").map(str::to_owned);
        // Negotiated only for a refusal: not on every request's way in.
        let req = req.clone();
        Box::pin(async move {
            use crate::fhir::tenancy::SiteError;
            let found = match tenancy {
                Some(t) => t.site_for_slug(slug.as_deref()).await,
                None => Err(SiteError::Failed("no tenants' registry".into())),
            };
            found.map(Site).map_err(|e| {
                let output = negotiate(&req, &[]).unwrap_or(Output {
                    format: Format::Json,
                    pretty: false,
                });
                let err = match e {
                    SiteError::NotFound => {
                        FhirError::NotFound("no FHIR endpoint at this path".into())
                    }
                    SiteError::Failed(m) => FhirError::Internal(m),
                };
                actix_web::error::InternalError::from_response(
                    "no such site",
                    render_error(output, &err),
                )
                .into()
            })
        })
    }
}
