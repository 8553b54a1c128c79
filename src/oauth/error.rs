//! The OAuth boundary error: what the token, introspection and revocation
//! endpoints answer (RFC 6749 section 5.2: a JSON object with `error` and
//! `error_description`, status 400, or 401 for a failed client
//! authentication with a `WWW-Authenticate` challenge when the client used
//! HTTP Basic). Never a token or a secret in the description.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde_json::json;

use crate::auth::AuthError;

#[derive(Debug, Clone)]
pub struct OAuthError {
    pub status: StatusCode,
    /// RFC 6749 5.2 error code.
    pub error: &'static str,
    pub description: String,
    /// The client authenticated with HTTP Basic: answer 401 with a challenge.
    pub basic_challenge: bool,
}

impl OAuthError {
    pub fn new(error: &'static str, description: impl Into<String>) -> Self {
        let status = match error {
            "server_error" => StatusCode::INTERNAL_SERVER_ERROR,
            "temporarily_unavailable" => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        Self {
            status,
            error,
            description: description.into(),
            basic_challenge: false,
        }
    }

    /// The client authenticated with HTTP Basic: a failed client
    /// authentication is then 401 with a Basic challenge (RFC 6749 5.2: "If
    /// the client attempted to authenticate via the Authorization request
    /// header field, the authorization server MUST respond with an HTTP 401
    /// ... and include the WWW-Authenticate response header field"); other
    /// `invalid_client` answers are 400, as that section's default is and as
    /// SMART backend services' clients expect, so no 401 goes without its
    /// challenge (RFC 9110 15.5.2).
    pub fn basic(mut self) -> Self {
        self.basic_challenge = true;
        if self.error == "invalid_client" {
            self.status = StatusCode::UNAUTHORIZED;
        }
        self
    }

    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::new("invalid_request", d)
    }

    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::new("invalid_grant", d)
    }

    pub fn invalid_client(d: impl Into<String>) -> Self {
        Self::new("invalid_client", d)
    }

    pub fn invalid_scope(d: impl Into<String>) -> Self {
        Self::new("invalid_scope", d)
    }

    pub fn server(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "authorization server failure");
        Self::new("server_error", "the authorization server failed")
    }

    pub fn response(&self) -> HttpResponse {
        let mut b = HttpResponse::build(self.status);
        // RFC 6749 5.1/5.2: no caching of token endpoint answers.
        b.insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"));
        if self.basic_challenge && self.status == StatusCode::UNAUTHORIZED {
            b.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"fhirgate\""));
        }
        b.json(json!({"error": self.error, "error_description": self.description}))
    }
}

impl From<AuthError> for OAuthError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Internal(m) => OAuthError::server(m),
            AuthError::InvalidRequest(m) => OAuthError::invalid_request(m),
            AuthError::InvalidToken(m) => OAuthError::invalid_grant(m),
            AuthError::Missing => OAuthError::invalid_request("credentials missing"),
        }
    }
}

impl From<crate::store::StoreError> for OAuthError {
    fn from(e: crate::store::StoreError) -> Self {
        if matches!(e, crate::store::StoreError::Pool(_)) {
            return OAuthError::new("temporarily_unavailable", "the database is unavailable");
        }
        OAuthError::server(e)
    }
}
