//! AES-256-GCM with a random 96-bit nonce per ciphertext (NIST SP 800-38D §8.2.2:
//! random nonces are safe for up to 2^32 messages per key; `fhirgate keys rotate`
//! keeps each data key far below that).

use openssl::symm::{decrypt_aead, encrypt_aead, Cipher};

use super::{Ciphertext, CryptoError, KeyBytes, PhiBytes, RowBinding};

const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = 1 + 4 + NONCE_LEN + TAG_LEN;

pub fn seal_raw(
    key: &KeyBytes,
    key_id: i32,
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Ciphertext, CryptoError> {
    let mut nonce = [0u8; NONCE_LEN];
    openssl::rand::rand_bytes(&mut nonce)?;
    let mut tag = [0u8; TAG_LEN];
    let ct = encrypt_aead(
        Cipher::aes_256_gcm(),
        &key.0,
        Some(&nonce),
        aad,
        plaintext,
        &mut tag,
    )?;
    let mut out = Vec::with_capacity(HEADER_LEN + ct.len());
    out.push(VERSION);
    out.extend_from_slice(&key_id.to_be_bytes());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&tag);
    out.extend_from_slice(&ct);
    Ok(Ciphertext(out))
}

pub fn open_raw(
    key: &KeyBytes,
    aad: &[u8],
    ciphertext: &Ciphertext,
) -> Result<PhiBytes, CryptoError> {
    let bytes = &ciphertext.0;
    if bytes.len() < HEADER_LEN || bytes.first() != Some(&VERSION) {
        return Err(CryptoError::Malformed);
    }
    let nonce = bytes.get(5..5 + NONCE_LEN).ok_or(CryptoError::Malformed)?;
    let tag = bytes
        .get(5 + NONCE_LEN..HEADER_LEN)
        .ok_or(CryptoError::Malformed)?;
    // OpenSSL accepts a truncated tag and then verifies only its prefix; insist on
    // the full 16 bytes (shared/notes/dependencies.md).
    if tag.len() != TAG_LEN {
        return Err(CryptoError::Malformed);
    }
    let ct = bytes.get(HEADER_LEN..).ok_or(CryptoError::Malformed)?;
    decrypt_aead(Cipher::aes_256_gcm(), &key.0, Some(nonce), aad, ct, tag)
        .map(PhiBytes)
        .map_err(|_| CryptoError::Authentication)
}

/// The id of the data key a ciphertext was sealed with.
pub fn key_id_of(ciphertext: &Ciphertext) -> Result<i32, CryptoError> {
    let id = ciphertext.0.get(1..5).ok_or(CryptoError::Malformed)?;
    let id: [u8; 4] = id.try_into().map_err(|_| CryptoError::Malformed)?;
    Ok(i32::from_be_bytes(id))
}

pub fn seal(
    key: &KeyBytes,
    key_id: i32,
    row: &RowBinding<'_>,
    plaintext: &[u8],
) -> Result<Ciphertext, CryptoError> {
    seal_raw(key, key_id, &row.to_aad(), plaintext)
}

pub fn open(
    key: &KeyBytes,
    row: &RowBinding<'_>,
    ciphertext: &Ciphertext,
) -> Result<PhiBytes, CryptoError> {
    open_raw(key, &row.to_aad(), ciphertext)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn row(version: i32) -> RowBinding<'static> {
        RowBinding {
            tenant: "default",
            resource_type: "Patient",
            id: "p1",
            version,
        }
    }

    #[test]
    fn round_trip_and_binding() {
        let key = KeyBytes::random().unwrap();
        let ct = seal(&key, 7, &row(1), b"Jane Doe").unwrap();
        assert_eq!(key_id_of(&ct).unwrap(), 7);
        assert_eq!(open(&key, &row(1), &ct).unwrap().0, b"Jane Doe");
        // Moved to another version (row): refused.
        assert!(matches!(
            open(&key, &row(2), &ct),
            Err(CryptoError::Authentication)
        ));
        // Wrong key: refused.
        let other = KeyBytes::random().unwrap();
        assert!(open(&other, &row(1), &ct).is_err());
    }

    #[test]
    fn tampering_and_truncation_are_refused() {
        let key = KeyBytes::random().unwrap();
        let ct = seal(&key, 1, &row(1), b"secret").unwrap();
        let mut flipped = ct.clone();
        let last = flipped.0.len() - 1;
        flipped.0[last] ^= 1;
        assert!(open(&key, &row(1), &flipped).is_err());
        let truncated = Ciphertext(ct.0[..HEADER_LEN - 1].to_vec());
        assert!(matches!(
            open(&key, &row(1), &truncated),
            Err(CryptoError::Malformed)
        ));
        assert!(open(&key, &row(1), &Ciphertext(vec![])).is_err());
    }

    #[test]
    fn nonces_differ() {
        let key = KeyBytes::random().unwrap();
        let a = seal(&key, 1, &row(1), b"x").unwrap();
        let b = seal(&key, 1, &row(1), b"x").unwrap();
        assert_ne!(a.0, b.0);
    }
}
