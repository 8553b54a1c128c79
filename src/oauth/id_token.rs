//! The OpenID Connect id_token of a grant with `openid` (OpenID Connect Core
//! 1.0 section 2, issued with the access token as in 3.1.3.3), signed RS256
//! with the server's active key (published at the JWKS endpoint) and, when
//! `fhirUser` is granted too, SMART's `fhirUser` claim: the absolute URL of
//! the user's Practitioner or Patient (scopes-and-launch-context.html
//! #scopes-for-requesting-identity-data).

use serde::Serialize;

use super::error::OAuthError;
use crate::auth::token::AccessClaims;
use crate::fhir::AppState;

#[derive(Debug, Serialize)]
struct IdClaims<'a> {
    /// The issuer of `.well-known/smart-configuration` (OIDC Core 3.1.3.7 step 2).
    iss: &'a str,
    sub: &'a str,
    /// The client (OIDC Core 2: "It MUST contain the OAuth 2.0 client_id").
    aud: &'a str,
    exp: i64,
    iat: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_time: Option<i64>,
    /// Echoed from the authorization request (OIDC Core 3.1.2.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    #[serde(rename = "fhirUser", skip_serializing_if = "Option::is_none")]
    fhir_user: Option<String>,
}

/// The id_token accompanying `access` (same subject, issue time and
/// lifetime); `base` is the FHIR base of the request (`aud` of the access
/// token), to which a relative `fhir_user` (`Practitioner/1`) is resolved.
pub fn sign(
    state: &AppState,
    access: &AccessClaims,
    base: &str,
    auth_time: Option<i64>,
    nonce: Option<&str>,
    fhir_user: Option<&str>,
) -> Result<String, OAuthError> {
    let base = if base.is_empty() { &access.aud } else { base };
    let fhir_user = fhir_user.map(|f| {
        if f.starts_with("http://") || f.starts_with("https://") {
            f.to_owned()
        } else {
            format!("{}/{f}", base.trim_end_matches('/'))
        }
    });
    let claims = IdClaims {
        iss: &state.authority.issuer,
        sub: &access.sub,
        aud: &access.client_id,
        exp: access.exp,
        iat: access.iat,
        auth_time,
        nonce,
        fhir_user,
    };
    Ok(state.authority.sign(&claims)?)
}
