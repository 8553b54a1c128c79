//! `grant_type=refresh_token` (RFC 6749 section 6; SMART
//! app-launch.html#refresh-access-token). Refresh tokens come only with
//! `offline_access` or `online_access`, are bound to the client they were
//! issued to ("A refresh token SHALL be bound to the same client_id"), and
//! are rotated on every use: the answer carries a new one and the old one is
//! spent. A spent one presented again means one of the two holders is not
//! the app, so the whole grant is revoked (OAuth 2.0 Security BCP, RFC 9700
//! 4.14.2, "refresh token rotation"). A refresh never widens the scopes
//! (RFC 6749 6: "MUST NOT include any scope not originally granted") nor
//! grants more than the user's role and the client's registration allow now.

use actix_web::HttpRequest;

use super::code_grant::{self, client, digest, grant_of, user_of};
use super::error::OAuthError;
use super::token::{Params, TokenResponse};
use crate::auth::scopes::{Scope, Scopes};
use crate::fhir::AppState;
use crate::store::auth::grants;

pub async fn exchange(
    req: &HttpRequest,
    state: &AppState,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let client = client(req, state, params).await?;
    let token = params.require("refresh_token")?;
    let (t, hash) = (state.tenant.as_str().to_owned(), digest(token));
    // Looked at first, spent only once the request is found valid: RFC 6749
    // 6 lets the old refresh token be revoked "after issuing a new refresh
    // token", and a refused request (a wider scope, another client) issues
    // none, so the app keeps the one it has.
    let row = state
        .engine
        .db()
        .run(move |conn| grants::refresh(conn, &t, &hash))
        .await?
        .ok_or_else(|| OAuthError::invalid_grant("the refresh token is not valid"))?;
    if row.used_at.is_some() {
        return Err(reused(state, &row.grant_id).await);
    }
    let grant = grant_of(state, &row.grant_id, &client).await?;
    if row.expires_at < chrono::Utc::now() {
        return Err(OAuthError::invalid_grant("the refresh token has expired"));
    }
    let user = user_of(state, &grant).await?;
    let original = Scopes::parse(&row.scopes);
    let requested = match params.get("scope") {
        None => original.clone(),
        Some(s) => {
            let s = Scopes::parse(s);
            if !s.within(&original) {
                return Err(OAuthError::invalid_scope(
                    "the scope asks for more than was granted",
                ));
            }
            s
        }
    };
    let ceiling = |s: &Scopes| {
        let role = super::picker::role_scopes(state, &user);
        s.narrow(&role, true)
            .narrow(&Scopes::parse(&client.scopes), false)
    };
    let granted = ceiling(&requested);
    if granted.is_empty() {
        return Err(OAuthError::invalid_scope(
            "nothing of the requested scope may be granted",
        ));
    }
    let (t, hash) = (state.tenant.as_str().to_owned(), digest(token));
    let taken = state
        .engine
        .db()
        .run(move |conn| grants::take_refresh(conn, &t, &hash))
        .await?
        .ok_or_else(|| OAuthError::invalid_grant("the refresh token is not valid"))?;
    if taken.used_at.is_some() {
        // Spent by a concurrent request between the look and the take.
        return Err(reused(state, &taken.grant_id).await);
    }
    // RFC 6749 6: the new refresh token's scope is that of the one spent
    // (narrowed if the role or registration shrank). `offline_access` slides
    // its expiry; `online_access` keeps the first one's.
    let kept = ceiling(&original);
    let refresh = if kept.contains(&Scope::OfflineAccess) {
        code_grant::refresh_lifetime(state, &kept).map(|ttl| chrono::Utc::now() + ttl)
    } else if kept.contains(&Scope::OnlineAccess) {
        Some(row.expires_at)
    } else {
        None
    }
    .map(|expires| (kept.to_string(), expires));
    code_grant::tokens(state, &grant, &user, &granted, None, refresh).await
}

/// A spent refresh token presented again: the grant is revoked.
async fn reused(state: &AppState, grant_id: &str) -> OAuthError {
    match code_grant::revoke(state, grant_id.to_owned()).await {
        Ok(()) => OAuthError::invalid_grant(
            "the refresh token was used before: the authorization is revoked",
        ),
        Err(e) => e,
    }
}
