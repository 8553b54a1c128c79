//! The `client_credentials` grant of SMART Backend Services
//! (https://hl7.org/fhir/smart-app-launch/STU2/backend-services.html): a
//! backend client authenticated by its signed assertion (client_auth.rs)
//! gets an access token for the `system/` scopes it asked for, within those
//! registered for it.

use actix_web::HttpRequest;

use super::client_auth::{authenticate, Method};
use super::error::OAuthError;
use super::paths;
use super::token::{base_of, Params, TokenResponse};
use crate::auth::scopes::{Context, Scope, Scopes};
use crate::auth::TokenSpec;
use crate::fhir::AppState;

/// backend-services.html#issue-access-token: "the access token SHALL have
/// an expiration time of no greater than five minutes" is a SHOULD for
/// `expires_in` of 300 at most.
const MAX_TTL_SECS: u64 = 300;

pub async fn exchange(
    req: &HttpRequest,
    state: &AppState,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let base = base_of(req, state)?;
    let endpoint = format!("{base}{}", paths::TOKEN);
    let (client, method) = authenticate(req, params, state, &endpoint).await?;
    if method != Method::PrivateKeyJwt {
        return Err(OAuthError::new(
            "unauthorized_client",
            "client_credentials is for backend services authenticating with private_key_jwt",
        ));
    }
    let requested = Scopes::parse(params.require("scope")?);
    let system_only = Scopes(
        requested
            .0
            .into_iter()
            .filter(|s| matches!(s, Scope::Resource(r) if r.context == Context::System))
            .collect(),
    );
    let granted = system_only.narrow(&Scopes::parse(&client.scopes), false);
    if granted.resource_scopes().next().is_none() {
        return Err(OAuthError::invalid_scope(
            "none of the requested system/ scopes is allowed for this client",
        ));
    }
    let ttl = state
        .authority
        .settings
        .access_token_ttl
        .min(std::time::Duration::from_secs(MAX_TTL_SECS));
    let scope = granted.to_string();
    let (token, _) = state.authority.issue(TokenSpec {
        sub: client.client_id.clone(),
        client_id: client.client_id,
        scope: scope.clone(),
        aud: Some(base),
        ttl: Some(ttl),
        ..Default::default()
    })?;
    Ok(TokenResponse {
        access_token: token,
        token_type: "Bearer",
        expires_in: ttl.as_secs(),
        scope,
        ..Default::default()
    })
}
