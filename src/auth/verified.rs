//! Bearer tokens of this issuer already verified, so that the next request
//! with the same token skips the RS256 signature check and the two JSON
//! decodings (together most of what authorization cost a read by id:
//! docs/performance.md, issue #17).
//!
//! Keyed by the whole token: a hit means these exact bytes passed the full
//! verification (signature, `alg`, `iss`, tenant). Keying by the signature
//! part alone would not do: a token with another payload and a copied
//! signature would find the entry. What may change between requests is
//! checked again on every hit by the caller (`Authority::verify`): expiry,
//! the audience against this request's base, that the signing key is still
//! published, and revocation.

use std::collections::HashMap;
use std::sync::RwLock;

use super::token::AccessClaims;

/// Entries kept at most. A token is a few hundred bytes and its claims as
/// much again: about 1.5 MB when full.
const CAPACITY: usize = 1024;

#[derive(Debug, Clone)]
pub struct Verified {
    pub claims: AccessClaims,
    /// The signing key's id.
    pub kid: String,
}

#[derive(Default)]
pub struct VerifiedTokens {
    entries: RwLock<HashMap<String, Verified>>,
}

impl VerifiedTokens {
    pub fn get(&self, token: &str) -> Option<Verified> {
        let map = self.entries.read().ok()?;
        map.get(token).cloned()
    }

    /// Remembers `token`, verified now. When full, expired entries go first
    /// (`exp` before `expired_before`), and if that frees nothing, all of them:
    /// a cache miss costs one verification, never a wrong answer.
    pub fn insert(&self, token: &str, verified: Verified, expired_before: i64) {
        let Ok(mut map) = self.entries.write() else {
            return;
        };
        if map.len() >= CAPACITY && !map.contains_key(token) {
            map.retain(|_, v| v.claims.exp >= expired_before);
            if map.len() >= CAPACITY {
                map.clear();
            }
        }
        map.insert(token.to_owned(), verified);
    }

    pub fn forget(&self, token: &str) {
        if let Ok(mut map) = self.entries.write() {
            map.remove(token);
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.read().map(|m| m.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verified(exp: i64) -> Verified {
        Verified {
            claims: AccessClaims {
                iss: "https://fhir.example/fhir".into(),
                sub: "c".into(),
                aud: "https://fhir.example/fhir".into(),
                exp,
                iat: 0,
                jti: "j".into(),
                scope: "system/*.rs".into(),
                client_id: "c".into(),
                tenant: "default".into(),
                patient: None,
                encounter: None,
                fhir_user: None,
                username: None,
                grant: None,
            },
            kid: "k".into(),
        }
    }

    #[test]
    fn full_cache_drops_expired_entries_first_then_everything() {
        let cache = VerifiedTokens::default();
        for i in 0..CAPACITY {
            // Half expired (exp 10), half live (exp 1000).
            let exp = if i % 2 == 0 { 10 } else { 1000 };
            cache.insert(&format!("t{i}"), verified(exp), 0);
        }
        assert_eq!(cache.len(), CAPACITY);
        cache.insert("new", verified(1000), 100);
        assert_eq!(cache.len(), CAPACITY / 2 + 1);
        assert!(cache.get("t1").is_some());
        assert!(cache.get("t0").is_none());
        // All live: the insertion that finds the cache full starts afresh
        // (u511, as 513 entries + 511 fill it).
        for i in 0..CAPACITY {
            cache.insert(&format!("u{i}"), verified(1000), 100);
        }
        assert_eq!(cache.len(), CAPACITY / 2 + 1);
        assert!(cache.get("new").is_none());
        assert!(cache.get("u510").is_none());
        assert!(cache.get("u511").is_some());
        assert!(cache.get("u1023").is_some());
    }

    #[test]
    fn only_the_exact_token_hits() {
        let cache = VerifiedTokens::default();
        cache.insert("h.p.s", verified(1000), 0);
        assert!(cache.get("h.p.s").is_some());
        assert!(cache.get("h.q.s").is_none());
        assert!(cache.get("h.p.s ").is_none());
        cache.forget("h.p.s");
        assert!(cache.get("h.p.s").is_none());
    }
}
