//! Who is calling the token, introspection or revocation endpoint (RFC 6749
//! section 2.3): a confidential client by HTTP Basic (`client_secret_basic`),
//! a backend service by a signed assertion (`private_key_jwt`, RFC 7523 and
//! SMART backend-services.html), or a public client by its `client_id` alone
//! (it proves itself with PKCE instead).

use actix_web::http::header;
use actix_web::HttpRequest;
use base64::Engine as _;

use super::error::OAuthError;
use super::token::Params;
use crate::auth::{client_keys, AuthError};
use crate::fhir::AppState;
use crate::store::auth::{clients, grants, ClientRow};

/// RFC 7523 section 2.2.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    None,
    SecretBasic,
    PrivateKeyJwt,
}

/// The authenticated client (not disabled) and how it authenticated, at the
/// token endpoint `token_endpoint` (an assertion's `aud`).
pub async fn authenticate(
    req: &HttpRequest,
    params: &Params,
    state: &AppState,
    token_endpoint: &str,
) -> Result<(ClientRow, Method), OAuthError> {
    authenticate_at(req, params, state, &[token_endpoint]).await
}

/// [`authenticate`] at another endpoint of the authorization server
/// (introspection, revocation): an assertion's `aud` may be any of
/// `audiences` (RFC 7523 3: "the token endpoint URL of the authorization
/// server MAY be used" as its audience; so may the endpoint called).
pub async fn authenticate_at(
    req: &HttpRequest,
    params: &Params,
    state: &AppState,
    audiences: &[&str],
) -> Result<(ClientRow, Method), OAuthError> {
    let tenant = state.tenant.as_str().to_owned();
    let basic = basic(req)?;
    // RFC 6749 2.3: "The client MUST NOT use more than one authentication
    // method in each request."
    if basic.is_some() && params.get("client_assertion").is_some() {
        return Err(OAuthError::invalid_request(
            "more than one client authentication method",
        ));
    }
    if let Some((id, secret)) = basic {
        let e = OAuthError::invalid_client("client authentication failed").basic();
        if params.get("client_id").is_some_and(|c| c != id) {
            return Err(e);
        }
        let client = load(state, &tenant, &id).await;
        let Some(client) = client? else {
            // Same cost as a wrong secret: no telling which client ids exist.
            let _ = crate::auth::password::verify(&secret, crate::auth::password::decoy());
            return Err(e);
        };
        let ok = client.kind == "confidential"
            && client
                .secret_hash
                .as_deref()
                .is_some_and(|h| crate::auth::password::verify(&secret, h));
        if !ok || client.disabled {
            return Err(e);
        }
        return Ok((client, Method::SecretBasic));
    }
    if let Some(assertion) = params.get("client_assertion") {
        if params.get("client_assertion_type") != Some(JWT_BEARER) {
            return Err(OAuthError::invalid_client(
                "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ));
        }
        let id = assertion_subject(assertion)?;
        // RFC 7521 4.2: a client_id given besides the assertion must name
        // the same client (client-confidential-asymmetric.html: "ensure that
        // the client_id provided is known and matches the JWT's iss").
        if params.get("client_id").is_some_and(|c| c != id) {
            return Err(OAuthError::invalid_client(
                "client_id does not match the client assertion",
            ));
        }
        let client = load(state, &tenant, &id)
            .await?
            .filter(|c| c.kind == "backend" && !c.disabled)
            .ok_or_else(|| OAuthError::invalid_client("client authentication failed"))?;
        let jwks = client
            .jwks
            .clone()
            .ok_or_else(|| OAuthError::invalid_client("the client has no registered keys"))?;
        let now = chrono::Utc::now().timestamp();
        let a =
            client_keys::verify_assertion(&jwks, assertion, &id, audiences, now).map_err(|e| {
                match e {
                    AuthError::InvalidRequest(m) | AuthError::InvalidToken(m) => {
                        OAuthError::invalid_client(m)
                    }
                    other => OAuthError::from(other),
                }
            })?;
        // Remembered until the assertion can no longer be accepted (its exp
        // plus the clock skew allowed), so a replay within its lifetime fails.
        let expires = chrono::DateTime::from_timestamp(a.exp + client_keys::SKEW_SECS, 0)
            .unwrap_or_else(chrono::Utc::now);
        let (t, cid, jti) = (tenant.clone(), id.clone(), a.jti.clone());
        let first = state
            .engine
            .db()
            .run(move |conn| grants::first_use_of_jti(conn, &t, &cid, &jti, expires))
            .await?;
        if !first {
            return Err(OAuthError::invalid_client(
                "the client assertion's jti was used before",
            ));
        }
        return Ok((client, Method::PrivateKeyJwt));
    }
    let id = params
        .get("client_id")
        .ok_or_else(|| OAuthError::invalid_client("client_id is required"))?
        .to_owned();
    let client = load(state, &tenant, &id)
        .await?
        .filter(|c| c.kind == "public" && !c.disabled)
        .ok_or_else(|| OAuthError::invalid_client("client authentication failed"))?;
    Ok((client, Method::None))
}

async fn load(state: &AppState, tenant: &str, id: &str) -> Result<Option<ClientRow>, OAuthError> {
    let (t, i) = (tenant.to_owned(), id.to_owned());
    Ok(state
        .engine
        .db()
        .run(move |conn| clients::get(conn, &t, &i))
        .await?)
}

/// `Authorization: Basic` credentials, each form-urlencoded (RFC 6749 2.3.1).
fn basic(req: &HttpRequest) -> Result<Option<(String, String)>, OAuthError> {
    let Some(v) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let bad = || OAuthError::invalid_client("malformed Basic credentials").basic();
    let v = v.to_str().map_err(|_| bad())?;
    let Some((scheme, rest)) = v.split_once(' ') else {
        return Err(bad());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    let dec = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .map(|c| c.into_owned())
    };
    Ok(Some((
        dec(id).map_err(|_| bad())?,
        dec(secret).map_err(|_| bad())?,
    )))
}

/// The `sub` (= `iss` = client id) of an assertion, read unverified only to
/// find the keys to verify it with.
fn assertion_subject(assertion: &str) -> Result<String, OAuthError> {
    let claims = jsonwebtoken::dangerous::insecure_decode::<serde_json::Value>(assertion)
        .map_err(|_| OAuthError::invalid_client("the client assertion is not a JWT"))?
        .claims;
    claims
        .get("sub")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| OAuthError::invalid_client("the client assertion has no sub"))
}
