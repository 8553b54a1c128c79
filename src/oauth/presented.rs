//! A token presented to introspection (RFC 7662) or revocation (RFC 7009):
//! which of this server's tokens it is, if any. An access token is one this
//! issuer signed that verifies now (so expired, revoked, tampered or foreign
//! tokens are none); a refresh token is found by its SHA-256 digest, the only
//! form in which it is stored.

use chrono::{DateTime, Utc};
use sha2::Digest as _;

use super::error::OAuthError;
use crate::auth::token::AccessClaims;
use crate::auth::AuthError;
use crate::fhir::AppState;
use crate::store::auth::grants::{self, GrantRow, RefreshRow};
use crate::store::auth::{clients, users};

pub enum Presented {
    Access(Box<AccessClaims>),
    Refresh(Box<Refresh>),
    /// Not a token of this server, or no longer valid.
    Unknown,
}

/// A stored refresh token and what it belongs to.
pub struct Refresh {
    pub row: RefreshRow,
    pub grant: GrantRow,
    /// The grant's user's `fhirUser`.
    pub fhir_user: Option<String>,
    /// The client or the user is disabled.
    pub disabled: bool,
}

impl Refresh {
    /// RFC 7662 2.2 "active": not used (rotated), not expired, its grant not
    /// revoked, its client and user not disabled.
    pub fn active(&self, state: &AppState, now: DateTime<Utc>) -> bool {
        let revoked = state
            .authority
            .is_revoked(
                None,
                &self.grant.client_id,
                self.grant.username.as_deref(),
                Some(&self.grant.grant_id),
            )
            .unwrap_or(true);
        self.row.used_at.is_none()
            && self.row.expires_at > now
            && self.grant.revoked_at.is_none()
            && !self.disabled
            && !revoked
    }
}

/// The SHA-256 digest a refresh token is stored under.
pub fn digest(token: &str) -> Vec<u8> {
    sha2::Sha256::digest(token.as_bytes()).to_vec()
}

/// Which token `token` is. `hint` (`token_type_hint`) only orders the search
/// (RFC 7009 2.1, RFC 7662 2.1: the server extends it to every type it has).
pub async fn identify(
    state: &AppState,
    token: &str,
    base: &str,
    hint: Option<&str>,
) -> Result<Presented, OAuthError> {
    if hint == Some("refresh_token") {
        if let Some(r) = refresh(state, token).await? {
            return Ok(Presented::Refresh(Box::new(r)));
        }
        return access(state, token, base).await;
    }
    match access(state, token, base).await? {
        Presented::Unknown => Ok(match refresh(state, token).await? {
            Some(r) => Presented::Refresh(Box::new(r)),
            None => Presented::Unknown,
        }),
        found => Ok(found),
    }
}

async fn access(state: &AppState, token: &str, base: &str) -> Result<Presented, OAuthError> {
    // Revocations made by another process (the CLI) count at once here.
    if let Err(e) = state.authority.poll_revocations().await {
        tracing::debug!(error = %e, "polling token revocations");
    }
    match state.authority.verify_issued(token, Some(base)).await {
        Ok(c) => Ok(Presented::Access(Box::new(c))),
        Err(AuthError::Internal(m)) => Err(OAuthError::server(m)),
        Err(_) => Ok(Presented::Unknown),
    }
}

async fn refresh(state: &AppState, token: &str) -> Result<Option<Refresh>, OAuthError> {
    // A JWT is never a refresh token; nor is anything too long to be one.
    if token.len() > 512 || token.contains('.') {
        return Ok(None);
    }
    let (tenant, hash) = (state.tenant.as_str().to_owned(), digest(token));
    Ok(state
        .engine
        .db()
        .run(
            move |conn| -> Result<Option<Refresh>, crate::store::StoreError> {
                let Some(row) = grants::refresh(conn, &tenant, &hash)? else {
                    return Ok(None);
                };
                let Some(grant) = grants::grant(conn, &tenant, &row.grant_id)? else {
                    return Ok(None);
                };
                let client_off =
                    clients::get(conn, &tenant, &grant.client_id)?.is_none_or(|c| c.disabled);
                let user = match &grant.username {
                    Some(u) => users::get(conn, &tenant, u)?,
                    None => None,
                };
                let user_off = grant.username.is_some() && user.as_ref().is_none_or(|u| u.disabled);
                Ok(Some(Refresh {
                    row,
                    fhir_user: user.and_then(|u| u.fhir_user),
                    disabled: client_off || user_off,
                    grant,
                }))
            },
        )
        .await?)
}
