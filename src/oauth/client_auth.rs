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
use crate::auth::client_keys;
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

/// The authenticated client (not disabled) and how it authenticated.
pub async fn authenticate(
    req: &HttpRequest,
    params: &Params,
    state: &AppState,
    token_endpoint: &str,
) -> Result<(ClientRow, Method), OAuthError> {
    let tenant = state.tenant.as_str().to_owned();
    if let Some((id, secret)) = basic(req)? {
        let client = load(state, &tenant, &id).await;
        let mut e = OAuthError::invalid_client("client authentication failed");
        e.basic_challenge = true;
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
        let client = load(state, &tenant, &id)
            .await?
            .filter(|c| c.kind == "backend" && !c.disabled)
            .ok_or_else(|| OAuthError::invalid_client("client authentication failed"))?;
        let jwks = client
            .jwks
            .clone()
            .ok_or_else(|| OAuthError::invalid_client("the client has no registered keys"))?;
        let now = chrono::Utc::now().timestamp();
        let a = client_keys::verify_assertion(&jwks, assertion, &id, token_endpoint, now)
            .map_err(|e| OAuthError::invalid_client(e.to_string()))?;
        let expires = chrono::DateTime::from_timestamp(a.exp, 0).unwrap_or_else(chrono::Utc::now);
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
    let bad = || {
        let mut e = OAuthError::invalid_client("malformed Basic credentials");
        e.basic_challenge = true;
        e
    };
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
