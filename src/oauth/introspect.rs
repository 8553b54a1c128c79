//! `POST [base]/auth/introspect`: token introspection (RFC 7662; SMART App
//! Launch 2.0.0 token-introspection.html).
//!
//! Who may ask (RFC 7662 2.1: "the endpoint MUST also require some form of
//! authorization"):
//! - a caller presenting a bearer token with a `system/` scope (a backend
//!   service or a resource server: token-introspection.html "SHALL be
//!   permitted to authenticate ... by providing an appropriately-scoped SMART
//!   App or SMART Backend Service bearer token"): any token of this server;
//! - a client authenticating as at the token endpoint (a confidential app by
//!   HTTP Basic, a backend service by its signed assertion): only the tokens
//!   issued to it (RFC 7662 4 lets the server limit this, so that one client
//!   cannot probe another's tokens); others are answered as inactive.
//!
//! Public clients cannot authenticate, so cannot introspect.
//!
//! For anything that is not an active token of this server (garbage, expired,
//! revoked, another issuer's, a used or expired refresh token, a disabled
//! client's or user's) the answer is exactly `{"active":false}` (RFC 7662
//! 2.2: no more is said about why).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::Value;

use super::client_auth::{authenticate_at, Method};
use super::error::OAuthError;
use super::paths;
use super::presented::{identify, Presented};
use super::token::{base_of, Params};
use crate::auth::scopes::Context;
use crate::auth::AuthError;
use crate::fhir::context::Site;
use crate::fhir::AppState;

/// The one inactive answer, byte for byte.
pub const INACTIVE: &str = r#"{"active":false}"#;

/// RFC 7662 2.2 members, with SMART's launch context and `fhirUser`
/// (token-introspection.html "Required fields" and "Conditional fields").
#[derive(Debug, Default, Serialize)]
pub struct Active {
    pub active: bool,
    pub scope: String,
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    pub exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    pub sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    pub iss: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patient: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encounter: Option<String>,
    #[serde(rename = "fhirUser", skip_serializing_if = "Option::is_none")]
    pub fhir_user: Option<String>,
}

/// Who asked.
enum Caller {
    /// A bearer token with a `system/` scope: may introspect any token.
    Privileged,
    /// An authenticated client: its own tokens only.
    Client(String),
}

/// Why the caller is refused.
enum Refused {
    OAuth(OAuthError),
    /// RFC 7662 2.3 / RFC 6750 3: a bad or insufficient bearer token.
    Bearer(&'static str, &'static str),
}

impl From<OAuthError> for Refused {
    fn from(e: OAuthError) -> Self {
        Refused::OAuth(e)
    }
}

fn no_store(mut b: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    b.insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"));
    b
}

pub async fn post(req: HttpRequest, state: Site, payload: web::Payload) -> HttpResponse {
    let mut client = None;
    match handle(&req, &state, payload, &mut client).await {
        Ok(None) => no_store(HttpResponse::Ok())
            .content_type("application/json")
            .body(INACTIVE),
        Ok(Some(a)) => no_store(HttpResponse::Ok()).json(a),
        Err(refused) => {
            let response = match refused {
                Refused::OAuth(e) => e.response(),
                Refused::Bearer(code, description) => no_store(HttpResponse::Unauthorized())
                    .insert_header((
                        header::WWW_AUTHENTICATE,
                        format!(
                            "Bearer realm=\"fhirgate\", error=\"{code}\", error_description=\"{description}\""
                        ),
                    ))
                    .json(serde_json::json!({"error": code, "error_description": description})),
            };
            super::audit::record(
                &state,
                &req,
                "auth/introspect",
                client.as_deref(),
                response.status().as_u16(),
            )
            .await;
            response
        }
    }
}

/// Whether the request body is a form (RFC 7662 2.1, RFC 7009 2.1).
pub fn is_form(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// The `Authorization: Bearer` token, if that is the scheme.
fn bearer(req: &HttpRequest) -> Option<&str> {
    let v = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

async fn handle(
    req: &HttpRequest,
    state: &AppState,
    payload: web::Payload,
    client: &mut Option<String>,
) -> Result<Option<Active>, Refused> {
    if !is_form(req) {
        return Err(OAuthError::invalid_request(
            "the introspection request must be application/x-www-form-urlencoded",
        )
        .into());
    }
    let params: Params = super::token::form(payload).await?;
    let base = base_of(req, state)?;
    let caller = match bearer(req) {
        Some(token) => {
            let claims = match state.authority.verify(token, Some(&base)).await {
                Ok(c) => c,
                Err(AuthError::Internal(m)) => return Err(OAuthError::server(m).into()),
                Err(_) => {
                    return Err(Refused::Bearer(
                        "invalid_token",
                        "the bearer token is not valid",
                    ))
                }
            };
            *client = Some(claims.client_id.clone());
            let system = claims
                .grant()
                .scopes
                .resource_scopes()
                .any(|s| s.context == Context::System);
            if !system {
                return Err(Refused::Bearer(
                    "insufficient_scope",
                    "introspection needs a token with a system/ scope",
                ));
            }
            Caller::Privileged
        }
        None => {
            let token_endpoint = format!("{base}{}", paths::TOKEN);
            let here = format!("{base}{}", paths::INTROSPECT);
            // Nothing presented at all: 401 with a Bearer challenge (RFC
            // 7662 2.1 requires authorization; a bearer token is one way).
            let presented = req.headers().contains_key(header::AUTHORIZATION)
                || params.get("client_id").is_some()
                || params.get("client_assertion").is_some();
            if !presented {
                return Err(Refused::Bearer(
                    "invalid_request",
                    "introspection needs a bearer token with a system/ scope, or client authentication",
                ));
            }
            let (c, method) =
                authenticate_at(req, &params, state, &[&token_endpoint, &here]).await?;
            *client = Some(c.client_id.clone());
            if method == Method::None {
                return Err(OAuthError::invalid_client(
                    "introspection needs client authentication (a public client has none)",
                )
                .into());
            }
            Caller::Client(c.client_id)
        }
    };
    let token = params.require("token")?;
    let found = identify(state, token, &base, params.get("token_type_hint")).await?;
    let owner = match &found {
        Presented::Access(c) => Some(c.client_id.as_str()),
        Presented::Refresh(r) => Some(r.grant.client_id.as_str()),
        Presented::Unknown => None,
    };
    if let (Caller::Client(me), Some(owner)) = (&caller, owner) {
        if me != owner {
            return Ok(None);
        }
    }
    Ok(match found {
        Presented::Access(c) => Some(Active {
            active: true,
            scope: c.scope,
            client_id: c.client_id,
            username: c.username,
            token_type: Some("Bearer"),
            exp: c.exp,
            iat: Some(c.iat),
            sub: c.sub,
            aud: Some(c.aud),
            iss: c.iss,
            jti: Some(c.jti),
            patient: c.patient,
            encounter: c.encounter,
            fhir_user: c.fhir_user,
        }),
        Presented::Refresh(r) if r.active(state, chrono::Utc::now()) => {
            let ctx = |k: &str| {
                r.grant
                    .context
                    .get(k)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            Some(Active {
                active: true,
                scope: r.row.scopes.clone(),
                client_id: r.grant.client_id.clone(),
                username: r.grant.username.clone(),
                token_type: None,
                exp: r.row.expires_at.timestamp(),
                iat: None,
                sub: match &r.grant.username {
                    Some(u) => format!("user:{u}"),
                    None => r.grant.client_id.clone(),
                },
                aud: None,
                iss: state.authority.issuer.clone(),
                jti: None,
                patient: ctx("patient"),
                encounter: ctx("encounter"),
                fhir_user: r.fhir_user.clone(),
            })
        }
        Presented::Refresh(_) | Presented::Unknown => None,
    })
}
