//! Why a token or an authorization request is refused: the error codes of
//! RFC 6750 section 3.1 (resource server) and RFC 6749 section 5.2 (token
//! endpoint). Messages never carry the token itself.

#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthError {
    /// No bearer token (RFC 6750 3.1: no error code is given then).
    #[error("no bearer token")]
    Missing,
    /// 401 `invalid_token`: malformed, expired, revoked, wrong issuer or audience.
    #[error("invalid token: {0}")]
    InvalidToken(String),
    /// 400 `invalid_request` at the resource server.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("authorization internal error: {0}")]
    Internal(String),
}

impl AuthError {
    pub fn internal(e: impl std::fmt::Display) -> Self {
        AuthError::Internal(e.to_string())
    }

    /// The RFC 6750 `error` code, when there is one.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            AuthError::Missing => None,
            AuthError::InvalidToken(_) => Some("invalid_token"),
            AuthError::InvalidRequest(_) => Some("invalid_request"),
            AuthError::Internal(_) => None,
        }
    }
}
