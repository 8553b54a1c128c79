//! The signing keys of a tenant in the store: loaded (generated on first
//! start) and rotated. The private halves are sealed and opened in
//! `signing`; here they only travel between the store and a [`KeySet`].

use super::signing::{self, KeySet};
use super::AuthError;
use crate::config::auth::AuthSettings;
use crate::crypto::MasterKey;
use crate::store::auth::keys;
use crate::store::{Db, StoreError};

pub(super) async fn load_keys(
    db: &Db,
    master: &MasterKey,
    tenant: &str,
) -> Result<KeySet, AuthError> {
    let (m, t) = (master.clone(), tenant.to_owned());
    let rows = db
        .run(move |conn| {
            let rows = keys::published(conn, &t)?;
            if rows.iter().any(|r| r.retired_at.is_none()) {
                return Ok(rows);
            }
            let fresh =
                signing::generate(&m, &t).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            keys::rotate_in(conn, &t, &fresh, chrono::Duration::zero(), true)?;
            keys::published(conn, &t)
        })
        .await
        .map_err(|e: StoreError| AuthError::internal(e))?;
    KeySet::from_rows(master, tenant, &rows)
}

/// A new active signing key for `tenant`; the retired one stays published for
/// the longest a token it signed can live. Answers the new key's id.
pub async fn rotate_keys(
    db: &Db,
    master: &MasterKey,
    tenant: &str,
    settings: &AuthSettings,
) -> Result<String, AuthError> {
    let fresh = signing::generate(master, tenant)?;
    let kid = fresh.kid.clone();
    let t = tenant.to_owned();
    let publish_for = chrono::Duration::from_std(settings.access_token_ttl)
        .unwrap_or(chrono::Duration::hours(1))
        + chrono::Duration::seconds(i64::try_from(super::authority::LEEWAY_SECS).unwrap_or(30));
    db.run(move |conn| keys::rotate_in(conn, &t, &fresh, publish_for, false))
        .await
        .map_err(|e: StoreError| AuthError::internal(e))?;
    Ok(kid)
}
