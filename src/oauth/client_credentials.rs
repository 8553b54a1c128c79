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

/// backend-services.html#issue-access-token: access tokens "SHALL be
/// short-lived; the `expires_in` value SHOULD NOT exceed 300".
const MAX_TTL_SECS: u64 = 300;

/// The grant, audited: granted (outcome 0) or refused (4), with the client
/// once it authenticated.
pub async fn exchange(
    req: &HttpRequest,
    state: &AppState,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let mut client_id = None;
    let result = grant(req, state, params, &mut client_id).await;
    let status = match &result {
        Ok(_) => 200,
        Err(e) => e.status.as_u16(),
    };
    super::audit::record(
        state,
        req,
        "auth/token grant_type=client_credentials",
        client_id.as_deref(),
        status,
    )
    .await;
    result
}

async fn grant(
    req: &HttpRequest,
    state: &AppState,
    params: &Params,
    client_id: &mut Option<String>,
) -> Result<TokenResponse, OAuthError> {
    let base = base_of(req, state)?;
    let endpoint = format!("{base}{}", paths::TOKEN);
    let (client, method) = authenticate(req, params, state, &endpoint).await?;
    *client_id = Some(client.client_id.clone());
    if method != Method::PrivateKeyJwt {
        return Err(OAuthError::new(
            "unauthorized_client",
            "client_credentials is for backend services authenticating with private_key_jwt",
        ));
    }
    // backend-services.html#scopes: "requested scopes will be `system/`
    // scopes"; the grant is what of them the client was pre-authorized for
    // ("SHALL mediate the request to assure that the scope requested is
    // within the scope pre-authorized"), which RFC 6749 3.3 lets the server
    // narrow, saying so in `scope`. Other scopes (patient/, user/, openid,
    // launch) need a user or context this grant has not: none are granted.
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
    // backend-services.html#issue-access-token: no refresh token ("Refresh
    // tokens SHOULD NOT be issued").
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
