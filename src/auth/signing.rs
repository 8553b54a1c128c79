//! The authorization server's signing keys: RSA 2048 for RS256 (the
//! algorithm SMART App Launch 2.0.0 requires servers to support for
//! id_tokens and that every client library verifies), generated on first
//! start, the private key sealed under the master key in `auth_signing_keys`,
//! the public key published as a JWK (RFC 7517) at the JWKS endpoint. A
//! rotated-out key stays published until the last token it signed expires.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{DecodingKey, Header};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use serde_json::{json, Value};

use super::AuthError;
use crate::crypto::{Ciphertext, MasterKey};
use crate::store::auth::keys::SigningKeyRow;

pub const ALG: &str = "RS256";

pub struct ActiveKey {
    pub kid: String,
    /// Parsed once: jsonwebtoken's `encode` parses (and checks) the DER key
    /// on every signature, which was half the CPU of a client_credentials
    /// grant (docs/performance.md, issue #17).
    private: PKey<Private>,
}

impl ActiveKey {
    /// A JWS in compact serialization (RFC 7515 section 7.1) of `claims`
    /// under `header`, signed RS256: RSASSA-PKCS1-v1_5 with SHA-256 over
    /// `BASE64URL(header) '.' BASE64URL(payload)` (RFC 7518 section 3.3).
    pub fn sign<T: serde::Serialize>(
        &self,
        header: &Header,
        claims: &T,
    ) -> Result<String, AuthError> {
        if header.alg != jsonwebtoken::Algorithm::RS256 {
            return Err(AuthError::Internal("signing keys sign RS256 only".into()));
        }
        let head = serde_json::to_vec(header).map_err(AuthError::internal)?;
        let body = serde_json::to_vec(claims).map_err(AuthError::internal)?;
        let mut out = URL_SAFE_NO_PAD.encode(head);
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(body, &mut out);
        // openssl's default padding for an RSA key is PKCS#1 v1.5.
        let mut signer = openssl::sign::Signer::new(MessageDigest::sha256(), &self.private)
            .map_err(AuthError::internal)?;
        signer.update(out.as_bytes()).map_err(AuthError::internal)?;
        let sig = signer.sign_to_vec().map_err(AuthError::internal)?;
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(sig, &mut out);
        Ok(out)
    }
}

/// The keys a process signs and verifies with.
pub struct KeySet {
    pub active: ActiveKey,
    /// Every published key (the active one first): kid, verifying key, JWK.
    pub published: Vec<(String, DecodingKey, Value)>,
}

fn context(tenant: &str, kid: &str) -> String {
    format!("signing-key\0{tenant}\0{kid}")
}

/// A new key pair, its private half sealed for `tenant`.
pub fn generate(master: &MasterKey, tenant: &str) -> Result<SigningKeyRow, AuthError> {
    let rsa = openssl::rsa::Rsa::generate(2048).map_err(AuthError::internal)?;
    let der = rsa.private_key_to_der().map_err(AuthError::internal)?;
    let kid = uuid::Uuid::new_v4().simple().to_string();
    let sealed = master
        .seal_secret(&context(tenant, &kid), &der)
        .map_err(AuthError::internal)?;
    let jwk = json!({
        "kty": "RSA",
        "kid": kid,
        "use": "sig",
        "alg": ALG,
        "n": URL_SAFE_NO_PAD.encode(rsa.n().to_vec()),
        "e": URL_SAFE_NO_PAD.encode(rsa.e().to_vec()),
    });
    Ok(SigningKeyRow {
        kid,
        alg: ALG.into(),
        sealed_private: sealed.0,
        public_jwk: jwk,
        retired_at: None,
    })
}

impl KeySet {
    /// The set from the published rows (active first, store/auth/keys.rs).
    pub fn from_rows(
        master: &MasterKey,
        tenant: &str,
        rows: &[SigningKeyRow],
    ) -> Result<Self, AuthError> {
        let active_row = rows
            .iter()
            .find(|r| r.retired_at.is_none())
            .ok_or_else(|| AuthError::Internal("no active signing key".into()))?;
        let der = master
            .open_secret(
                &context(tenant, &active_row.kid),
                &Ciphertext(active_row.sealed_private.clone()),
            )
            .map_err(|_| {
                AuthError::Internal("the signing key does not open with this master key".into())
            })?;
        let rsa = openssl::rsa::Rsa::private_key_from_der(&der.0).map_err(AuthError::internal)?;
        let active = ActiveKey {
            kid: active_row.kid.clone(),
            private: PKey::from_rsa(rsa).map_err(AuthError::internal)?,
        };
        let mut published = Vec::new();
        for r in rows {
            let n = r.public_jwk.get("n").and_then(Value::as_str).unwrap_or("");
            let e = r.public_jwk.get("e").and_then(Value::as_str).unwrap_or("");
            let key = DecodingKey::from_rsa_components(n, e).map_err(AuthError::internal)?;
            published.push((r.kid.clone(), key, r.public_jwk.clone()));
        }
        Ok(Self { active, published })
    }

    pub fn verifying_key(&self, kid: &str) -> Option<&DecodingKey> {
        self.published
            .iter()
            .find(|(k, _, _)| k == kid)
            .map(|(_, key, _)| key)
    }

    /// The JWKS document (RFC 7517 section 5).
    pub fn jwks(&self) -> Value {
        json!({ "keys": self.published.iter().map(|(_, _, jwk)| jwk.clone()).collect::<Vec<_>>() })
    }
}
