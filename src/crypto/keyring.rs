//! Unwrapped data keys, cached in memory, loaded from `data_keys` on first use.
//!
//! The active data key is re-read at most every [`ACTIVE_TTL`], so after
//! `fhirgate keys rotate` every running gateway switches to the new key within
//! that time; until then it keeps writing under the old key, which stays readable
//! (keys are never deleted) and is swept up by the rotation's re-encryption pass.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use diesel::pg::PgConnection;
use diesel::Connection;

use super::{
    aead, BlindIndexer, Ciphertext, CryptoError, KeyBytes, MasterKey, PhiBytes, RowBinding,
};
use crate::store::{keys, StoreError};

pub const ACTIVE_TTL: Duration = Duration::from_secs(2);
pub const PURPOSE_DATA: &str = "data";
pub const PURPOSE_INDEX: &str = "index";

type TenantKey = (String, i32);

pub struct Keyring {
    master: MasterKey,
    keys: RwLock<HashMap<TenantKey, Arc<KeyBytes>>>,
    active: RwLock<HashMap<String, (i32, Instant)>>,
    indexers: RwLock<HashMap<String, Arc<BlindIndexer>>>,
    unreadable: AtomicU64,
}

impl From<CryptoError> for StoreError {
    fn from(e: CryptoError) -> Self {
        StoreError::Crypto(e.to_string())
    }
}

impl Keyring {
    pub fn new(master: MasterKey) -> Self {
        Self {
            master,
            keys: RwLock::new(HashMap::new()),
            active: RwLock::new(HashMap::new()),
            indexers: RwLock::new(HashMap::new()),
            unreadable: AtomicU64::new(0),
        }
    }

    pub fn master(&self) -> &MasterKey {
        &self.master
    }

    /// Creates the tenant's first data and index keys if it has none. Safe to race
    /// (the partial unique index admits one active key per purpose).
    /// Also unwraps the active keys, so a master key that does not match the
    /// database fails here, at start-up, rather than as a 500 on every request.
    pub fn ensure_tenant(&self, conn: &mut PgConnection, tenant: &str) -> Result<(), StoreError> {
        for purpose in [PURPOSE_DATA, PURPOSE_INDEX] {
            if let Some(row) = keys::active(conn, tenant, purpose)? {
                self.unwrap_row(tenant, purpose, &row)?;
                continue;
            }
            let created = conn.transaction(|conn| self.create_key(conn, tenant, purpose, true));
            if let Err(e) = created {
                // Another process created it first: fine if one exists now.
                if keys::active(conn, tenant, purpose)?.is_none() {
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Creates a new key; when `make_active`, it replaces the active one.
    pub fn create_key(
        &self,
        conn: &mut PgConnection,
        tenant: &str,
        purpose: &str,
        make_active: bool,
    ) -> Result<i32, StoreError> {
        let key_id = keys::next_id(conn, tenant)?;
        let dek = KeyBytes::random()?;
        let wrapped = self.master.wrap(tenant, key_id, purpose, &dek)?;
        let row = keys::WrappedKey {
            key_id,
            kek_id: self.master.id().to_owned(),
            wrapped: wrapped.0,
        };
        keys::insert(conn, tenant, purpose, &row, make_active)?;
        if let Ok(mut active) = self.active.write() {
            active.remove(tenant);
        }
        Ok(key_id)
    }

    fn unwrap_row(
        &self,
        tenant: &str,
        purpose: &str,
        row: &keys::WrappedKey,
    ) -> Result<Arc<KeyBytes>, StoreError> {
        if row.kek_id != self.master.id() {
            return Err(StoreError::Crypto(format!(
                "data key {} of this database is wrapped by master key {}, but master key {} is loaded; \
                 start with the original key (FHIRGATE_MASTER_KEY_FILE / FHIRGATE_MASTER_KEY) or use another database",
                row.key_id,
                row.kek_id,
                self.master.id()
            )));
        }
        let key = self.master.unwrap_key(
            tenant,
            row.key_id,
            purpose,
            &Ciphertext(row.wrapped.clone()),
        )?;
        let key = Arc::new(key);
        if let Ok(mut cache) = self.keys.write() {
            cache.insert((tenant.to_owned(), row.key_id), key.clone());
        }
        Ok(key)
    }

    pub fn key(
        &self,
        conn: &mut PgConnection,
        tenant: &str,
        key_id: i32,
    ) -> Result<Arc<KeyBytes>, StoreError> {
        let cached = self
            .keys
            .read()
            .ok()
            .and_then(|c| c.get(&(tenant.to_owned(), key_id)).cloned());
        if let Some(k) = cached {
            return Ok(k);
        }
        let (purpose, row) =
            keys::by_id(conn, tenant, key_id)?.ok_or(StoreError::Decrypt { key_id })?;
        self.unwrap_row(tenant, &purpose, &row)
    }

    pub fn active_key(
        &self,
        conn: &mut PgConnection,
        tenant: &str,
    ) -> Result<(i32, Arc<KeyBytes>), StoreError> {
        let fresh = self
            .active
            .read()
            .ok()
            .and_then(|a| a.get(tenant).copied())
            .filter(|(_, at)| at.elapsed() < ACTIVE_TTL);
        let key_id = match fresh {
            Some((id, _)) => id,
            None => {
                let row = match keys::active(conn, tenant, PURPOSE_DATA)? {
                    Some(row) => row,
                    None => {
                        self.ensure_tenant(conn, tenant)?;
                        keys::active(conn, tenant, PURPOSE_DATA)?
                            .ok_or_else(|| StoreError::Corrupt("no active data key".into()))?
                    }
                };
                if let Ok(mut a) = self.active.write() {
                    a.insert(tenant.to_owned(), (row.key_id, Instant::now()));
                }
                row.key_id
            }
        };
        Ok((key_id, self.key(conn, tenant, key_id)?))
    }

    pub fn indexer(
        &self,
        conn: &mut PgConnection,
        tenant: &str,
    ) -> Result<Arc<BlindIndexer>, StoreError> {
        if let Some(ix) = self
            .indexers
            .read()
            .ok()
            .and_then(|m| m.get(tenant).cloned())
        {
            return Ok(ix);
        }
        let row = match keys::active(conn, tenant, PURPOSE_INDEX)? {
            Some(row) => row,
            None => {
                self.ensure_tenant(conn, tenant)?;
                keys::active(conn, tenant, PURPOSE_INDEX)?
                    .ok_or_else(|| StoreError::Corrupt("no index key".into()))?
            }
        };
        let root = self.unwrap_row(tenant, PURPOSE_INDEX, &row)?;
        let ix = Arc::new(BlindIndexer::new((*root).clone()));
        if let Ok(mut m) = self.indexers.write() {
            m.insert(tenant.to_owned(), ix.clone());
        }
        Ok(ix)
    }

    pub fn seal(
        &self,
        conn: &mut PgConnection,
        row: &RowBinding<'_>,
        plaintext: &[u8],
    ) -> Result<(i32, Ciphertext), StoreError> {
        let (key_id, key) = self.active_key(conn, row.tenant)?;
        Ok((key_id, aead::seal(&key, key_id, row, plaintext)?))
    }

    pub fn open(
        &self,
        conn: &mut PgConnection,
        row: &RowBinding<'_>,
        ciphertext: &Ciphertext,
    ) -> Result<PhiBytes, StoreError> {
        let opened = aead::key_id_of(ciphertext)
            .map_err(StoreError::from)
            .and_then(|key_id| {
                let key = self.key(conn, row.tenant, key_id)?;
                aead::open(&key, row, ciphertext).map_err(|_| StoreError::Decrypt { key_id })
            });
        if opened.as_ref().is_err_and(StoreError::is_unreadable) {
            self.unreadable.fetch_add(1, Ordering::Relaxed);
        }
        opened
    }

    /// Stored values that did not open (corrupt, forged or moved ciphertext)
    /// since start, each time one was read: `GET /metrics`.
    pub fn unreadable(&self) -> u64 {
        self.unreadable.load(Ordering::Relaxed)
    }
}
