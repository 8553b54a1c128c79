//! `POST [base]/auth/revoke`: token revocation (RFC 7009).
//!
//! The client authenticates as at the token endpoint (HTTP Basic, a signed
//! assertion, or a public client by its `client_id`: RFC 7009 2.1 validates
//! "the client credentials (in case of a confidential client)" and then
//! "whether the token was issued to the client making the revocation
//! request"). An access token ends alone (its `jti` is revoked, for every
//! server process within a poll); a refresh token ends its grant and with it
//! every token issued under it (RFC 7009 2.1 "SHOULD also invalidate all
//! access tokens based on the same authorization grant"). An unknown,
//! expired or already revoked token is answered 200 like a revoked one
//! (RFC 7009 2.2: "invalid tokens do not cause an error response"); another
//! client's token is refused.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use super::client_auth::authenticate_at;
use super::error::OAuthError;
use super::introspect::is_form;
use super::paths;
use super::presented::{identify, Presented};
use super::token::base_of;
use crate::fhir::context::Site;
use crate::fhir::AppState;
use crate::store::auth::grants;

pub async fn post(req: HttpRequest, state: Site, payload: web::Payload) -> HttpResponse {
    let mut client = None;
    let response = match handle(&req, &state, payload, &mut client).await {
        Ok(()) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"))
            .finish(),
        Err(e) => e.response(),
    };
    super::audit::record(
        &state,
        &req,
        "auth/revoke",
        client.as_deref(),
        response.status().as_u16(),
    )
    .await;
    response
}

async fn handle(
    req: &HttpRequest,
    state: &AppState,
    payload: web::Payload,
    client: &mut Option<String>,
) -> Result<(), OAuthError> {
    if !is_form(req) {
        return Err(OAuthError::invalid_request(
            "the revocation request must be application/x-www-form-urlencoded",
        ));
    }
    let params = super::token::form(payload).await?;
    let base = base_of(req, state)?;
    let token_endpoint = format!("{base}{}", paths::TOKEN);
    let here = format!("{base}{}", paths::REVOKE);
    let (c, _) = authenticate_at(req, &params, state, &[&token_endpoint, &here]).await?;
    *client = Some(c.client_id.clone());
    let token = params.require("token")?;
    let not_yours = || {
        OAuthError::new(
            "unauthorized_client",
            "the token was not issued to this client",
        )
    };
    match identify(state, token, &base, params.get("token_type_hint")).await? {
        Presented::Access(claims) => {
            if claims.client_id != c.client_id {
                return Err(not_yours());
            }
            state.authority.revoke("jti", claims.jti).await?;
        }
        Presented::Refresh(r) => {
            if r.grant.client_id != c.client_id {
                return Err(not_yours());
            }
            let (t, g) = (state.tenant.as_str().to_owned(), r.grant.grant_id.clone());
            state
                .engine
                .db()
                .run(move |conn| grants::revoke_grant(conn, &t, &g))
                .await?;
            state.authority.note_revoked("grant", &r.grant.grant_id);
        }
        Presented::Unknown => {}
    }
    Ok(())
}
