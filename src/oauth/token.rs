//! `POST [base]/auth/token` (RFC 6749 section 3.2; SMART App Launch 2.0.0
//! app-launch.html#obtain-access-token and backend-services.html): the form
//! body is parsed once (a parameter given twice is refused, RFC 6749 3.2),
//! the client authenticated (client_auth.rs), and the grant type dispatched.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use super::error::OAuthError;
use crate::fhir::context::Site;
use crate::fhir::AppState;

/// A form-encoded request's parameters, each at most once.
#[derive(Debug, Clone)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(body: &[u8]) -> Result<Self, OAuthError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
            .map_err(|_| OAuthError::invalid_request("the body is not form-encoded"))?;
        for (i, (k, _)) in pairs.iter().enumerate() {
            if pairs.iter().skip(i + 1).any(|(k2, _)| k2 == k) {
                return Err(OAuthError::invalid_request(format!(
                    "parameter {k} is given more than once"
                )));
            }
        }
        Ok(Self(pairs))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("{name} is required")))
    }
}

/// The successful token response (RFC 6749 5.1 and the SMART launch context,
/// app-launch.html#response-5).
#[derive(Debug, Default, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patient: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encounter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub need_patient_banner: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smart_style_url: Option<String>,
}

impl TokenResponse {
    pub fn response(&self) -> HttpResponse {
        HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"))
            .json(self)
    }
}

/// The request's FHIR base (the token endpoint is `[base]/auth/token`).
pub fn base_of(req: &HttpRequest, state: &AppState) -> Result<String, OAuthError> {
    state
        .base
        .for_request(req)
        .map_err(|_| OAuthError::invalid_request("the Host of this request is not served"))
}

/// Reads a form body of at most 64 KiB (a token request is small).
pub async fn form(payload: web::Payload) -> Result<Params, OAuthError> {
    let body = payload
        .to_bytes_limited(64 * 1024)
        .await
        .map_err(|_| OAuthError::invalid_request("the request body is too large"))?
        .map_err(|_| OAuthError::invalid_request("the request body could not be read"))?;
    Params::parse(&body)
}

pub async fn post(req: HttpRequest, state: Site, payload: web::Payload) -> HttpResponse {
    match handle(&req, &state, payload).await {
        Ok(r) => r.response(),
        Err(e) => e.response(),
    }
}

async fn handle(
    req: &HttpRequest,
    state: &AppState,
    payload: web::Payload,
) -> Result<TokenResponse, OAuthError> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.split(';').next().is_some_and(|m| {
        m.trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    }) {
        return Err(OAuthError::invalid_request(
            "the token request must be application/x-www-form-urlencoded",
        ));
    }
    let params = form(payload).await?;
    let grant_type = params.require("grant_type")?.to_owned();
    match grant_type.as_str() {
        "client_credentials" => super::client_credentials::exchange(req, state, &params).await,
        "authorization_code" => super::code_grant::exchange(req, state, &params).await,
        "refresh_token" => super::refresh::exchange(req, state, &params).await,
        other => Err(OAuthError::new(
            "unsupported_grant_type",
            format!("grant_type {other:?} is not supported"),
        )),
    }
}
