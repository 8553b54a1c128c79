//! Field-level encryption: envelope encryption with AES-256-GCM and keyed HMAC
//! blind indexes. docs/security.md describes the scheme and what each index leaks.
//!
//! The types here keep apart what must never be confused: [`PhiBytes`] (plaintext
//! that may hold PHI; never printed), [`Ciphertext`] (safe at rest) and
//! [`BlindIndex`] (a keyed one-way digest, safe at rest, equality-comparable).

pub mod aead;
pub mod blind;
pub mod key_source;
pub mod keyring;
pub mod master;

use std::fmt;

pub use blind::{BlindIndex, BlindIndexer};
pub use key_source::{KeySource, WrappedKey};
pub use keyring::Keyring;
pub use master::MasterKey;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("ciphertext is malformed")]
    Malformed,
    #[error("authentication failed: wrong key, wrong row, or tampered data")]
    Authentication,
    #[error("key {0} is unknown")]
    UnknownKey(i32),
    /// A stored value that does not open under its key: corrupt, forged or moved.
    #[error("a stored value could not be decrypted (key {key_id})")]
    Undecryptable { key_id: i32 },
    /// The tenant's keys were wrapped by another master key than the one loaded.
    #[error(
        "data key {key_id} of this database is wrapped by master key {kek_id}, but master key {loaded} is loaded; \
         start with the original key (FHIRGATE_MASTER_KEY_FILE / FHIRGATE_MASTER_KEY) or use another database"
    )]
    ForeignMasterKey {
        key_id: i32,
        kek_id: String,
        loaded: String,
    },
    /// No active key of a purpose even after creating the tenant's keys.
    #[error("{0}")]
    NoActiveKey(&'static str),
    #[error("master key: {0}")]
    MasterKey(String),
    #[error("openssl: {0}")]
    OpenSsl(#[from] openssl::error::ErrorStack),
}

/// Plaintext that may carry PHI. Its Debug output is redacted so it cannot leak
/// into a log line by accident.
pub struct PhiBytes(pub Vec<u8>);

impl fmt::Debug for PhiBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhiBytes(<{} bytes redacted>)", self.0.len())
    }
}

/// `version(1) | key_id (4, big-endian) | nonce (12) | tag (16) | ciphertext`.
#[derive(Clone, PartialEq, Eq)]
pub struct Ciphertext(pub Vec<u8>);

impl fmt::Debug for Ciphertext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ciphertext({} bytes)", self.0.len())
    }
}

/// The associated data that binds a ciphertext to its row: tenant, resource type,
/// id and version. A ciphertext copied into another row fails to decrypt.
pub struct RowBinding<'a> {
    pub tenant: &'a str,
    pub resource_type: &'a str,
    pub id: &'a str,
    pub version: i32,
}

impl RowBinding<'_> {
    fn to_aad(&self) -> Vec<u8> {
        // NUL cannot occur in tenant ids, types or FHIR ids, so the encoding is unambiguous.
        let mut aad = Vec::with_capacity(64);
        aad.extend_from_slice(b"fhirgate-row\0");
        for part in [self.tenant, self.resource_type, self.id] {
            aad.extend_from_slice(part.as_bytes());
            aad.push(0);
        }
        aad.extend_from_slice(&self.version.to_be_bytes());
        aad
    }
}

/// 32 bytes of key material with redacted Debug.
#[derive(Clone)]
pub struct KeyBytes(pub [u8; 32]);

impl fmt::Debug for KeyBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyBytes(<redacted>)")
    }
}

impl KeyBytes {
    pub fn random() -> Result<Self, CryptoError> {
        let mut k = [0u8; 32];
        openssl::rand::rand_bytes(&mut k)?;
        Ok(Self(k))
    }
}
