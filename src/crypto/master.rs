//! The master key (KEK). It wraps the data keys stored in the database and is
//! never stored there itself. Sources, in order: `FHIRGATE_MASTER_KEY` (hex or
//! base64), the configured key file, else `<data dir>/master.key`, generated on
//! first start with mode 0600 and a warning that production must supply its own.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use base64::Engine;
use sha2::{Digest, Sha256};

use super::{aead, Ciphertext, CryptoError, KeyBytes};

#[derive(Clone, Debug)]
pub struct MasterKey {
    key: KeyBytes,
    id: String,
}

impl MasterKey {
    pub fn from_bytes(key: KeyBytes) -> Self {
        // The id is a fingerprint (first 8 bytes of SHA-256 over a domain tag and the
        // key): enough to tell which KEK wrapped a data key, useless for guessing it.
        let digest = Sha256::new()
            .chain_update(b"fhirgate-kek-id\0")
            .chain_update(key.0)
            .finalize();
        let id = hex::encode(digest.get(..8).unwrap_or_default());
        Self { key, id }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn parse(text: &str) -> Result<Self, CryptoError> {
        let text = text.trim();
        let bytes = hex::decode(text)
            .ok()
            .or_else(|| base64::engine::general_purpose::STANDARD.decode(text).ok())
            .ok_or_else(|| CryptoError::MasterKey("not hex or base64".into()))?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| CryptoError::MasterKey("must be exactly 32 bytes".into()))?;
        Ok(Self::from_bytes(KeyBytes(key)))
    }

    /// Loads the key from the environment or `file`, or generates `file`.
    pub fn load_or_generate(file: Option<&Path>, data_dir: &Path) -> anyhow::Result<Self> {
        if let Ok(text) = std::env::var("FHIRGATE_MASTER_KEY") {
            return Ok(Self::parse(&text)?);
        }
        let default_path = data_dir.join("master.key");
        let path = file.unwrap_or(&default_path);
        if path.exists() {
            let text = std::fs::read_to_string(path)?;
            return Ok(Self::parse(&text)?);
        }
        if file.is_some() {
            anyhow::bail!("master key file {} does not exist", path.display());
        }
        std::fs::create_dir_all(data_dir)?;
        let key = KeyBytes::random()?;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        writeln!(f, "{}", hex::encode(key.0))?;
        tracing::warn!(
            path = %path.display(),
            "generated a new master key; production deployments must supply their own \
             (FHIRGATE_MASTER_KEY_FILE or FHIRGATE_MASTER_KEY) and keep it out of the database backups"
        );
        Ok(Self::from_bytes(key))
    }

    fn wrap_aad(tenant: &str, key_id: i32, purpose: &str) -> Vec<u8> {
        format!("fhirgate-dek\0{tenant}\0{key_id}\0{purpose}").into_bytes()
    }

    pub fn wrap(
        &self,
        tenant: &str,
        key_id: i32,
        purpose: &str,
        dek: &KeyBytes,
    ) -> Result<Ciphertext, CryptoError> {
        aead::seal_raw(
            &self.key,
            0,
            &Self::wrap_aad(tenant, key_id, purpose),
            &dek.0,
        )
    }

    /// Seals a secret of the server's own (a token signing key) under the
    /// master key; `context` names it and is bound as AAD, so a sealed value
    /// cannot be passed off as another.
    pub fn seal_secret(&self, context: &str, secret: &[u8]) -> Result<Ciphertext, CryptoError> {
        aead::seal_raw(&self.key, 0, &Self::secret_aad(context), secret)
    }

    pub fn open_secret(
        &self,
        context: &str,
        sealed: &Ciphertext,
    ) -> Result<super::PhiBytes, CryptoError> {
        aead::open_raw(&self.key, &Self::secret_aad(context), sealed)
    }

    fn secret_aad(context: &str) -> Vec<u8> {
        format!("fhirgate-secret\0{context}").into_bytes()
    }

    pub fn unwrap_key(
        &self,
        tenant: &str,
        key_id: i32,
        purpose: &str,
        wrapped: &Ciphertext,
    ) -> Result<KeyBytes, CryptoError> {
        let plain = aead::open_raw(&self.key, &Self::wrap_aad(tenant, key_id, purpose), wrapped)?;
        let key: [u8; 32] = plain.0.try_into().map_err(|_| CryptoError::Malformed)?;
        Ok(KeyBytes(key))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn wrap_unwrap_and_parse() {
        let kek = MasterKey::from_bytes(KeyBytes::random().unwrap());
        let dek = KeyBytes::random().unwrap();
        let wrapped = kek.wrap("default", 3, "data", &dek).unwrap();
        assert_eq!(
            kek.unwrap_key("default", 3, "data", &wrapped).unwrap().0,
            dek.0
        );
        assert!(kek.unwrap_key("default", 4, "data", &wrapped).is_err());
        assert!(kek.unwrap_key("other", 3, "data", &wrapped).is_err());
        let hexed = hex::encode([7u8; 32]);
        assert_eq!(
            MasterKey::parse(&hexed).unwrap().id(),
            MasterKey::from_bytes(KeyBytes([7u8; 32])).id()
        );
        assert!(MasterKey::parse("abcd").is_err());
    }

    #[test]
    fn generated_key_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("fhirgate-kek-{}", uuid::Uuid::new_v4()));
        // The environment variable would take precedence; this test needs it unset.
        if std::env::var("FHIRGATE_MASTER_KEY").is_ok() {
            return;
        }
        let a = MasterKey::load_or_generate(None, &dir).unwrap();
        let mode = std::fs::metadata(dir.join("master.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let b = MasterKey::load_or_generate(None, &dir).unwrap();
        assert_eq!(a.id(), b.id());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
