//! Blind indexes: HMAC-SHA-256 of a normalised value under a key derived per
//! tenant, resource type, search parameter and purpose, truncated to 16 bytes.
//! Equal values give equal digests (so equality search works) and nothing else
//! can be computed without the key. Deriving a key per column means equal values
//! in two different columns do not correlate. docs/security.md lists the leaks.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::KeyBytes;

type HmacSha256 = Hmac<Sha256>;

/// Length of a blind-index value in bytes.
pub const LEN: usize = 16;
/// Length of a prefix blind index: prefixes are many per value (one per length),
/// and a membership test needs no more than 64 bits (a false match needs a 2^-64
/// collision within one column's keys), so they are stored at half size.
pub const PREFIX_LEN: usize = 8;

/// A blind-index value, [`LEN`] bytes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BlindIndex(pub Vec<u8>);

impl fmt::Debug for BlindIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlindIndex({})", hex::encode(&self.0))
    }
}

/// Computes blind indexes for one tenant from its index root key.
pub struct BlindIndexer {
    root: KeyBytes,
    columns: RwLock<HashMap<String, Arc<KeyBytes>>>,
}

impl BlindIndexer {
    pub fn new(root: KeyBytes) -> Self {
        Self {
            root,
            columns: RwLock::new(HashMap::new()),
        }
    }

    fn column_key(&self, column: &str) -> Arc<KeyBytes> {
        if let Some(k) = self
            .columns
            .read()
            .ok()
            .and_then(|m| m.get(column).cloned())
        {
            return k;
        }
        let derived = Arc::new(KeyBytes(hmac(
            &self.root.0,
            &[b"fhirgate-bi-column\0", column.as_bytes()],
        )));
        if let Ok(mut m) = self.columns.write() {
            m.insert(column.to_owned(), derived.clone());
        }
        derived
    }

    /// The blind index of `value` in `column` (e.g. "Patient|family|exact").
    pub fn index(&self, column: &str, value: &str) -> BlindIndex {
        self.index_len(column, value, LEN)
    }

    /// The same, truncated to `len` bytes (at most 32).
    pub fn index_len(&self, column: &str, value: &str, len: usize) -> BlindIndex {
        let key = self.column_key(column);
        let full = hmac(&key.0, &[value.as_bytes()]);
        BlindIndex(full.get(..len).unwrap_or(&full).to_vec())
    }

    /// The whole HMAC-SHA-256 of `bytes` (any bytes, not only text) in
    /// `column`: for comparing large values, such as a stored HL7 message
    /// with a resend, where a false match must be out of the question.
    pub fn digest(&self, column: &str, bytes: &[u8]) -> BlindIndex {
        let key = self.column_key(column);
        BlindIndex(hmac(&key.0, &[bytes]).to_vec())
    }

    /// The blind indexes, `len` bytes each and concatenated, of the first
    /// `ends.len()` prefixes of `value`: `value[..e]` for each byte offset `e` of
    /// `ends` (ascending). Equal to [`BlindIndexer::index_len`] of each prefix,
    /// but the column key is looked up and the MAC keyed once, and each prefix
    /// only adds its last characters to a running MAC, which is cloned and
    /// finished (HMAC is a hash of key-pad || message, so a clone of the
    /// running state is the state of the shorter message). A Patient's names
    /// and address lines give ~60 prefixes; digesting each from scratch was 6%
    /// of the gateway's CPU per create (docs/performance.md, session 6).
    pub fn prefixes(&self, column: &str, value: &str, ends: &[usize], len: usize) -> Vec<u8> {
        let key = self.column_key(column);
        let Ok(mut running) = HmacSha256::new_from_slice(&key.0) else {
            // HMAC accepts keys of any length; this arm cannot be reached.
            return Vec::new();
        };
        let bytes = value.as_bytes();
        let mut out = Vec::with_capacity(ends.len() * len);
        let mut done = 0;
        for &end in ends {
            let Some(more) = bytes.get(done..end) else {
                break;
            };
            running.update(more);
            done = end;
            let full: [u8; 32] = running.clone().finalize().into_bytes().into();
            out.extend_from_slice(full.get(..len).unwrap_or(&full));
        }
        out
    }
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        // HMAC accepts keys of any length; this arm cannot be reached.
        Err(_) => return [0u8; 32],
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_per_column_and_keyed() {
        let a = BlindIndexer::new(KeyBytes([1; 32]));
        let b = BlindIndexer::new(KeyBytes([2; 32]));
        assert_eq!(
            a.index("Patient.family", "smith"),
            a.index("Patient.family", "smith")
        );
        assert_ne!(
            a.index("Patient.family", "smith"),
            a.index("Patient.given", "smith")
        );
        assert_ne!(
            a.index("Patient.family", "smith"),
            b.index("Patient.family", "smith")
        );
        assert_eq!(a.index("x", "y").0.len(), 16);
    }

    #[test]
    fn prefixes_equal_each_prefix_digested_alone() {
        let ix = BlindIndexer::new(KeyBytes([3; 32]));
        let value = "zoë åb";
        let ends: Vec<usize> = value
            .char_indices()
            .skip(1)
            .map(|(i, _)| i)
            .chain([value.len()])
            .collect();
        let one_by_one: Vec<u8> = ends
            .iter()
            .flat_map(|&e| ix.index_len("P|name|prefix", &value[..e], PREFIX_LEN).0)
            .collect();
        assert_eq!(
            ix.prefixes("P|name|prefix", value, &ends, PREFIX_LEN),
            one_by_one
        );
        assert_eq!(one_by_one.len(), 6 * PREFIX_LEN);
    }
}
