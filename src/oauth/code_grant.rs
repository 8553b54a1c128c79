//! Authorization codes: issued after consent (a grant row with the launch
//! context, and the code's SHA-256 digest, single use, `code_ttl`), and the
//! `authorization_code` grant at the token endpoint (RFC 6749 4.1.3; SMART
//! app-launch.html#obtain-access-token), with PKCE S256 (RFC 7636 4.6).
//!
//! A code presented a second time fails and revokes every token issued from
//! it (RFC 6749 4.1.2: "If an authorization code is used more than once,
//! the authorization server MUST deny the request and SHOULD revoke (when
//! possible) all tokens previously issued based on that authorization code").

use actix_web::HttpRequest;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use super::authorize::Refusal;
use super::client_auth::authenticate;
use super::error::OAuthError;
use super::flow::Flow;
use super::pages::PageError;
use super::paths;
use super::token::{base_of, Params, TokenResponse};
use crate::auth::scopes::{Scope, Scopes};
use crate::auth::TokenSpec;
use crate::fhir::AppState;
use crate::store::auth::users::{self, UserRow};
use crate::store::auth::{grants, ClientRow};

/// The longest an `online_access` refresh token lives: this server keeps no
/// user session to tell when the user goes offline, so "while the user
/// remains online" is bounded to a working day (and never slides).
const ONLINE_MAX: std::time::Duration = std::time::Duration::from_secs(12 * 3600);

/// The launch context a grant keeps (auth_grants.context), for every token
/// issued under it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GrantContext {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encounter: Option<String>,
    #[serde(default)]
    pub need_patient_banner: bool,
    #[serde(rename = "fhirUser", default, skip_serializing_if = "Option::is_none")]
    pub fhir_user: Option<String>,
    /// The FHIR base the app asked for (`aud`).
    #[serde(default)]
    pub aud: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
}

/// A random secret (32 bytes, base64url) and its SHA-256 digest (what is stored).
pub fn secret() -> Result<(String, Vec<u8>), OAuthError> {
    let mut b = [0u8; 32];
    openssl::rand::rand_bytes(&mut b).map_err(OAuthError::server)?;
    let s = URL_SAFE_NO_PAD.encode(b);
    let d = digest(&s);
    Ok((s, d))
}

pub fn digest(s: &str) -> Vec<u8> {
    sha2::Sha256::digest(s.as_bytes()).to_vec()
}

/// After consent: the grant and its code; answers the code.
pub async fn issue_code(
    state: &AppState,
    flow: &Flow,
    user: &UserRow,
    granted: &Scopes,
) -> Result<String, Refusal> {
    let (code, hash) = secret().map_err(|e| PageError::server(e.description))?;
    let context = GrantContext {
        patient: flow.patient.clone(),
        encounter: flow.launch.as_ref().and_then(|l| l.encounter.clone()),
        // This server draws no banner around an app: one with a patient
        // in context must show who it is (context-banner).
        need_patient_banner: flow.patient.is_some(),
        fhir_user: user.fhir_user.clone(),
        aud: flow.aud.clone(),
        auth_time: flow.auth_time,
    };
    let row = grants::GrantRow {
        grant_id: uuid::Uuid::new_v4().simple().to_string(),
        client_id: flow.client_id.clone(),
        username: Some(user.username.clone()),
        scopes: granted.to_string(),
        context: serde_json::to_value(&context).map_err(PageError::server)?,
        revoked_at: None,
    };
    let ttl = chrono::Duration::from_std(state.authority.settings.code_ttl)
        .unwrap_or(chrono::Duration::minutes(1));
    let expires = chrono::Utc::now() + ttl;
    let t = state.tenant.as_str().to_owned();
    let (redirect, challenge, nonce) = (
        flow.redirect_uri.clone(),
        flow.code_challenge.clone(),
        flow.nonce.clone(),
    );
    state
        .engine
        .db()
        .run(move |conn| {
            use diesel::Connection;
            conn.transaction(|conn| {
                grants::insert_grant(conn, &t, &row)?;
                grants::insert_code(
                    conn,
                    &t,
                    &hash,
                    &row.grant_id,
                    &redirect,
                    &challenge,
                    nonce.as_deref(),
                    expires,
                )
            })
        })
        .await
        .map_err(PageError::from)?;
    Ok(code)
}

/// RFC 7636 4.1: `code-verifier = 43*128unreserved`.
fn valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// RFC 7636 4.6: BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge,
/// compared in constant time.
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let computed = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    valid_verifier(verifier)
        && computed.len() == challenge.len()
        && openssl::memcmp::eq(computed.as_bytes(), challenge.as_bytes())
}

/// Revokes a grant and every token under it, here at once and in every
/// process through the revocation row.
pub async fn revoke(state: &AppState, grant_id: String) -> Result<(), OAuthError> {
    let t = state.tenant.as_str().to_owned();
    let g = grant_id.clone();
    state
        .engine
        .db()
        .run(move |conn| grants::revoke_grant(conn, &t, &g))
        .await?;
    state.authority.note_revoked("grant", &grant_id);
    Ok(())
}

/// The client, authenticated as its registration requires, and the
/// `client_id` it may also have sent agreeing with it.
pub async fn client(
    req: &HttpRequest,
    state: &AppState,
    params: &Params,
) -> Result<ClientRow, OAuthError> {
    let base = base_of(req, state)?;
    let endpoint = format!("{base}{}", paths::TOKEN);
    let (client, _) = authenticate(req, params, state, &endpoint).await?;
    if params
        .get("client_id")
        .is_some_and(|c| c != client.client_id)
    {
        return Err(OAuthError::invalid_client(
            "client_id does not match the authenticated client",
        ));
    }
    Ok(client)
}

/// The grant's user, still enabled.
pub async fn user_of(state: &AppState, grant: &grants::GrantRow) -> Result<UserRow, OAuthError> {
    let name = grant
        .username
        .clone()
        .ok_or_else(|| OAuthError::invalid_grant("the grant has no user"))?;
    let t = state.tenant.as_str().to_owned();
    state
        .engine
        .db()
        .run(move |conn| users::get(conn, &t, &name))
        .await?
        .filter(|u| !u.disabled)
        .ok_or_else(|| OAuthError::invalid_grant("the user may not sign in any more"))
}

/// The grant `id`, issued to `client` and not revoked.
pub async fn grant_of(
    state: &AppState,
    id: &str,
    client: &ClientRow,
) -> Result<grants::GrantRow, OAuthError> {
    let (t, g) = (state.tenant.as_str().to_owned(), id.to_owned());
    let grant = state
        .engine
        .db()
        .run(move |conn| grants::grant(conn, &t, &g))
        .await?
        .ok_or_else(|| OAuthError::invalid_grant("the grant does not exist"))?;
    if grant.client_id != client.client_id {
        return Err(OAuthError::invalid_grant("issued to another client"));
    }
    if grant.revoked_at.is_some() {
        return Err(OAuthError::invalid_grant("the grant has been revoked"));
    }
    Ok(grant)
}

/// `grant_type=authorization_code`.
pub async fn exchange(
    req: &HttpRequest,
    state: &AppState,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let client = client(req, state, params).await?;
    // Every parameter before the code is spent.
    let code = params.require("code")?;
    let redirect_uri = params.require("redirect_uri")?;
    let verifier = params
        .get("code_verifier")
        .ok_or_else(|| OAuthError::invalid_request("code_verifier is required (PKCE, RFC 7636)"))?;
    let (t, hash) = (state.tenant.as_str().to_owned(), digest(code));
    let row = state
        .engine
        .db()
        .run(move |conn| grants::take_code(conn, &t, &hash))
        .await?
        .ok_or_else(|| OAuthError::invalid_grant("the code is not valid"))?;
    if row.used_at.is_some() {
        revoke(state, row.grant_id).await?;
        return Err(OAuthError::invalid_grant(
            "the code was used before: every token issued from it is revoked",
        ));
    }
    let grant = grant_of(state, &row.grant_id, &client).await?;
    if row.expires_at < chrono::Utc::now() {
        return Err(OAuthError::invalid_grant("the code has expired"));
    }
    // RFC 6749 4.1.3: "ensure that the redirect_uri parameter is present ...
    // and if included ensure that their values are identical".
    if row.redirect_uri != redirect_uri {
        return Err(OAuthError::invalid_grant(
            "redirect_uri differs from the authorization request's",
        ));
    }
    if !pkce_matches(verifier, &row.code_challenge) {
        return Err(OAuthError::invalid_grant(
            "code_verifier does not match the code_challenge",
        ));
    }
    let user = user_of(state, &grant).await?;
    let scopes = Scopes::parse(&grant.scopes);
    let refresh = refresh_lifetime(state, &scopes)
        .map(|ttl| (grant.scopes.clone(), chrono::Utc::now() + ttl));
    tokens(state, &grant, &user, &scopes, row.nonce.as_deref(), refresh).await
}

/// How long a new refresh token lives, if `scopes` ask for one.
pub fn refresh_lifetime(state: &AppState, scopes: &Scopes) -> Option<chrono::Duration> {
    let ttl = state.authority.settings.refresh_token_ttl;
    let ttl = if scopes.contains(&Scope::OfflineAccess) {
        ttl
    } else if scopes.contains(&Scope::OnlineAccess) {
        ttl.min(ONLINE_MAX)
    } else {
        return None;
    };
    Some(chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::hours(1)))
}

/// The token response for `grant`: an access token for `scopes`, an
/// id_token when `openid` is among them, a refresh token (its scopes and
/// expiry) when `refresh` is given, and the launch context.
pub async fn tokens(
    state: &AppState,
    grant: &grants::GrantRow,
    user: &UserRow,
    scopes: &Scopes,
    nonce: Option<&str>,
    refresh: Option<(String, chrono::DateTime<chrono::Utc>)>,
) -> Result<TokenResponse, OAuthError> {
    let ctx: GrantContext = serde_json::from_value(grant.context.clone()).unwrap_or_default();
    let aud = (!ctx.aud.is_empty()).then(|| ctx.aud.clone());
    let scope = scopes.to_string();
    let (access_token, claims) = state.authority.issue(TokenSpec {
        sub: format!("user:{}", user.username),
        client_id: grant.client_id.clone(),
        scope: scope.clone(),
        aud,
        ttl: None,
        patient: ctx.patient.clone(),
        encounter: ctx.encounter.clone(),
        fhir_user: user.fhir_user.clone(),
        username: Some(user.username.clone()),
        grant: Some(grant.grant_id.clone()),
    })?;
    let id_token = if scopes.contains(&Scope::OpenId) {
        let fhir_user = scopes
            .contains(&Scope::FhirUser)
            .then_some(user.fhir_user.as_deref())
            .flatten();
        Some(super::id_token::sign(
            state,
            &claims,
            &ctx.aud,
            ctx.auth_time,
            nonce,
            fhir_user,
        )?)
    } else {
        None
    };
    let refresh_token = match refresh {
        None => None,
        Some((rscopes, expires)) => {
            let (token, hash) = secret()?;
            let (t, g) = (state.tenant.as_str().to_owned(), grant.grant_id.clone());
            state
                .engine
                .db()
                .run(move |conn| grants::insert_refresh(conn, &t, &hash, &g, &rscopes, expires))
                .await?;
            Some(token)
        }
    };
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: state.authority.settings.access_token_ttl.as_secs(),
        scope,
        refresh_token,
        id_token,
        patient: ctx.patient.clone(),
        encounter: ctx.encounter,
        need_patient_banner: ctx.patient.is_some().then_some(ctx.need_patient_banner),
        smart_style_url: state.authority.settings.smart_style_url.clone(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc7636_appendix_b() {
        // RFC 7636 Appendix B's verifier and S256 challenge.
        let v = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let c = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(super::pkce_matches(v, c));
        assert!(!super::pkce_matches(
            v,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"
        ));
        assert!(!super::pkce_matches("short", c));
        // `plain` would compare the verifier itself: never accepted.
        assert!(!super::pkce_matches(v, v));
    }
}
