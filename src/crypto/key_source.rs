//! Where the [`Keyring`](super::Keyring) finds a tenant's wrapped data keys.
//!
//! The crypto layer stores nothing itself: the keys live in the `data_keys`
//! table, and `store/keys.rs` implements this trait for a database connection.
//! Keeping the trait here lets the keyring sit below the store
//! (docs/architecture.md, "Layers inside the server").

use super::CryptoError;

/// A data key as stored: its id, the id of the master key that wrapped it, and
/// the wrapped bytes (AES key wrap; `MasterKey::wrap`).
pub struct WrappedKey {
    pub key_id: i32,
    pub kek_id: String,
    pub wrapped: Vec<u8>,
}

/// The few operations the keyring needs on the stored keys of a tenant.
///
/// `Error` is the source's own error type (the store's `StoreError` for a
/// `PgConnection`): the keyring's methods answer in it, so their callers keep
/// one error type; a crypto failure converts into it through `From`.
pub trait KeySource {
    type Error: From<CryptoError>;

    /// The active key of `purpose` (`data` or `index`), if the tenant has one.
    fn active_key(
        &mut self,
        tenant: &str,
        purpose: &str,
    ) -> Result<Option<WrappedKey>, Self::Error>;

    /// A key by id, with its purpose.
    fn key_by_id(
        &mut self,
        tenant: &str,
        key_id: i32,
    ) -> Result<Option<(String, WrappedKey)>, Self::Error>;

    /// The id the tenant's next key takes.
    fn next_key_id(&mut self, tenant: &str) -> Result<i32, Self::Error>;

    /// Stores a key; when `make_active`, it first retires the tenant's active
    /// key of that purpose. Callers run it inside [`KeySource::atomically`].
    fn insert_key(
        &mut self,
        tenant: &str,
        purpose: &str,
        key: &WrappedKey,
        make_active: bool,
    ) -> Result<(), Self::Error>;

    /// Runs `f` as one unit: all of its writes or none (a database transaction,
    /// or a savepoint inside one).
    fn atomically<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, Self::Error>,
    ) -> Result<T, Self::Error>;
}
