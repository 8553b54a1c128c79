//! Unwrapped data keys, cached in memory, loaded from `data_keys` on first use.
//!
//! The active data key is re-read at most every [`ACTIVE_TTL`], so after
//! `fhirgate keys rotate` every running gateway switches to the new key within
//! that time; until then it keeps writing under the old key, which stays readable
//! (keys are never deleted) and is swept up by the rotation's re-encryption pass.
//!
//! The stored keys come through a [`KeySource`] (the store implements it for a
//! database connection), so this layer imports nothing of the store's.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::key_source::{KeySource, WrappedKey};
use super::{
    aead, BlindIndexer, Ciphertext, CryptoError, KeyBytes, MasterKey, PhiBytes, RowBinding,
};

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
    pub fn ensure_tenant<S: KeySource>(&self, keys: &mut S, tenant: &str) -> Result<(), S::Error> {
        for purpose in [PURPOSE_DATA, PURPOSE_INDEX] {
            if let Some(row) = keys.active_key(tenant, purpose)? {
                self.unwrap_row(tenant, purpose, &row)?;
                continue;
            }
            let created = keys.atomically(|keys| self.create_key(keys, tenant, purpose, true));
            if let Err(e) = created {
                // Another process created it first: fine if one exists now.
                if keys.active_key(tenant, purpose)?.is_none() {
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Creates a new key; when `make_active`, it replaces the active one.
    pub fn create_key<S: KeySource>(
        &self,
        keys: &mut S,
        tenant: &str,
        purpose: &str,
        make_active: bool,
    ) -> Result<i32, S::Error> {
        let key_id = keys.next_key_id(tenant)?;
        let dek = KeyBytes::random()?;
        let wrapped = self.master.wrap(tenant, key_id, purpose, &dek)?;
        let row = WrappedKey {
            key_id,
            kek_id: self.master.id().to_owned(),
            wrapped: wrapped.0,
        };
        keys.insert_key(tenant, purpose, &row, make_active)?;
        if let Ok(mut active) = self.active.write() {
            active.remove(tenant);
        }
        Ok(key_id)
    }

    fn unwrap_row(
        &self,
        tenant: &str,
        purpose: &str,
        row: &WrappedKey,
    ) -> Result<Arc<KeyBytes>, CryptoError> {
        if row.kek_id != self.master.id() {
            return Err(CryptoError::ForeignMasterKey {
                key_id: row.key_id,
                kek_id: row.kek_id.clone(),
                loaded: self.master.id().to_owned(),
            });
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

    /// The key `key_id` of the tenant, from the cache or else from `keys`. The
    /// outer error is the source's (the database), the inner one the key's own
    /// (unknown, or not unwrapped by this master key): `open` counts only the latter.
    fn lookup<S: KeySource>(
        &self,
        keys: &mut S,
        tenant: &str,
        key_id: i32,
    ) -> Result<Result<Arc<KeyBytes>, CryptoError>, S::Error> {
        let cached = self
            .keys
            .read()
            .ok()
            .and_then(|c| c.get(&(tenant.to_owned(), key_id)).cloned());
        if let Some(k) = cached {
            return Ok(Ok(k));
        }
        Ok(match keys.key_by_id(tenant, key_id)? {
            Some((purpose, row)) => self.unwrap_row(tenant, &purpose, &row),
            None => Err(CryptoError::UnknownKey(key_id)),
        })
    }

    pub fn key<S: KeySource>(
        &self,
        keys: &mut S,
        tenant: &str,
        key_id: i32,
    ) -> Result<Arc<KeyBytes>, S::Error> {
        Ok(self.lookup(keys, tenant, key_id)??)
    }

    pub fn active_key<S: KeySource>(
        &self,
        keys: &mut S,
        tenant: &str,
    ) -> Result<(i32, Arc<KeyBytes>), S::Error> {
        let fresh = self
            .active
            .read()
            .ok()
            .and_then(|a| a.get(tenant).copied())
            .filter(|(_, at)| at.elapsed() < ACTIVE_TTL);
        let key_id = match fresh {
            Some((id, _)) => id,
            None => {
                let row = match keys.active_key(tenant, PURPOSE_DATA)? {
                    Some(row) => row,
                    None => {
                        self.ensure_tenant(keys, tenant)?;
                        keys.active_key(tenant, PURPOSE_DATA)?
                            .ok_or(CryptoError::NoActiveKey("no active data key"))?
                    }
                };
                if let Ok(mut a) = self.active.write() {
                    a.insert(tenant.to_owned(), (row.key_id, Instant::now()));
                }
                row.key_id
            }
        };
        Ok((key_id, self.key(keys, tenant, key_id)?))
    }

    pub fn indexer<S: KeySource>(
        &self,
        keys: &mut S,
        tenant: &str,
    ) -> Result<Arc<BlindIndexer>, S::Error> {
        if let Some(ix) = self
            .indexers
            .read()
            .ok()
            .and_then(|m| m.get(tenant).cloned())
        {
            return Ok(ix);
        }
        let row = match keys.active_key(tenant, PURPOSE_INDEX)? {
            Some(row) => row,
            None => {
                self.ensure_tenant(keys, tenant)?;
                keys.active_key(tenant, PURPOSE_INDEX)?
                    .ok_or(CryptoError::NoActiveKey("no index key"))?
            }
        };
        let root = self.unwrap_row(tenant, PURPOSE_INDEX, &row)?;
        let ix = Arc::new(BlindIndexer::new((*root).clone()));
        if let Ok(mut m) = self.indexers.write() {
            m.insert(tenant.to_owned(), ix.clone());
        }
        Ok(ix)
    }

    pub fn seal<S: KeySource>(
        &self,
        keys: &mut S,
        row: &RowBinding<'_>,
        plaintext: &[u8],
    ) -> Result<(i32, Ciphertext), S::Error> {
        let (key_id, key) = self.active_key(keys, row.tenant)?;
        Ok((key_id, aead::seal(&key, key_id, row, plaintext)?))
    }

    /// Opens a stored value. A value that does not open (malformed, under an
    /// unknown key, forged or moved: every failure but the source's own) is
    /// counted for `GET /metrics`.
    pub fn open<S: KeySource>(
        &self,
        keys: &mut S,
        row: &RowBinding<'_>,
        ciphertext: &Ciphertext,
    ) -> Result<PhiBytes, S::Error> {
        let opened = match aead::key_id_of(ciphertext) {
            Err(e) => Err(e),
            Ok(key_id) => self.lookup(keys, row.tenant, key_id)?.and_then(|key| {
                aead::open(&key, row, ciphertext).map_err(|_| CryptoError::Undecryptable { key_id })
            }),
        };
        opened.map_err(|e| {
            self.unreadable.fetch_add(1, Ordering::Relaxed);
            S::Error::from(e)
        })
    }

    /// Stored values that did not open (corrupt, forged or moved ciphertext)
    /// since start, each time one was read: `GET /metrics`.
    pub fn unreadable(&self) -> u64 {
        self.unreadable.load(Ordering::Relaxed)
    }
}
