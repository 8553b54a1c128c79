//! Public keys from a JWK Set (RFC 7517), as the verifier of a JWS (RFC 7515)
//! must treat them: a key is used only for what it says it is for (`use`,
//! `key_ops`, `alg`: RFC 7517 4.2-4.4), only with an algorithm of its own
//! family and curve (RFC 8725 3.1: the algorithm is chosen by the key, never
//! by the token alone), never as an HMAC secret, and never a private key.
//! Shared by Backend Services client keys (client_keys.rs) and external
//! issuers (external.rs).

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk};
use jsonwebtoken::{Algorithm, DecodingKey, Header};
use serde_json::Value;

/// RFC 7517 6.2.2 / 6.3.2: the members only a private key has.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// NIST SP 800-131A: RSA keys under 2048 bits are not acceptable for signatures.
const MIN_RSA_BITS: usize = 2048;

/// One verification key of a set.
pub struct PublicKey {
    pub kid: Option<String>,
    /// The algorithms this key may verify.
    pub algorithms: Vec<Algorithm>,
    pub key: DecodingKey,
}

impl PublicKey {
    pub fn allows(&self, alg: Algorithm) -> bool {
        self.algorithms.contains(&alg)
    }
}

/// Why a key of a set is not usable.
pub type Refusal = &'static str;

/// The asymmetric signature algorithms a key's type and curve admit.
fn family_algorithms(k: &Jwk) -> Result<Vec<Algorithm>, Refusal> {
    use Algorithm::*;
    match &k.algorithm {
        AlgorithmParameters::RSA(p) => {
            let n = base64::Engine::decode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                p.n.trim_end_matches('='),
            )
            .map_err(|_| "the RSA modulus is not base64url")?;
            let bits = n.iter().skip_while(|b| **b == 0).count() * 8;
            if bits < MIN_RSA_BITS {
                return Err("RSA keys must have at least 2048 bits");
            }
            Ok(vec![RS256, RS384, RS512, PS256, PS384, PS512])
        }
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => Ok(vec![ES256]),
            EllipticCurve::P384 => Ok(vec![ES384]),
            _ => Err("the EC curve is not supported (P-256, P-384)"),
        },
        AlgorithmParameters::OctetKeyPair(_) => Err("EdDSA keys are not supported"),
        AlgorithmParameters::OctetKey(_) => Err("symmetric keys are not accepted"),
    }
}

/// A verification key from one member of a JWK Set's `keys`, or why not.
pub fn public_key(v: &Value) -> Result<PublicKey, Refusal> {
    let obj = v.as_object().ok_or("a key is not a JSON object")?;
    if PRIVATE_MEMBERS.iter().any(|m| obj.contains_key(*m)) {
        return Err("the key set holds a private or symmetric key: register public keys only");
    }
    // RFC 7517 4.2: "sig" (signature) or "enc"; 4.3: key_ops "verify".
    if let Some(u) = obj.get("use") {
        if u.as_str() != Some("sig") {
            return Err("the key is not for signatures (use)");
        }
    }
    if let Some(ops) = obj.get("key_ops") {
        let verify = ops
            .as_array()
            .is_some_and(|a| a.iter().any(|o| o.as_str() == Some("verify")));
        if !verify {
            return Err("the key is not for verification (key_ops)");
        }
    }
    let jwk: Jwk = serde_json::from_value(v.clone()).map_err(|_| "the key is not a valid JWK")?;
    let mut algorithms = family_algorithms(&jwk)?;
    // RFC 7517 4.4: a key that names its algorithm is for that one only.
    if let Some(a) = obj.get("alg") {
        let named: Algorithm = a
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or("the key's alg is not a signature algorithm")?;
        if !algorithms.contains(&named) {
            return Err("the key's alg does not fit its type");
        }
        algorithms = vec![named];
    }
    let key = DecodingKey::from_jwk(&jwk).map_err(|_| "the key material is unusable")?;
    Ok(PublicKey {
        kid: jwk.common.key_id.filter(|k| !k.is_empty()),
        algorithms,
        key,
    })
}

/// The `keys` of a JWK Set document.
pub fn members(set: &Value) -> Result<&Vec<Value>, Refusal> {
    set.get("keys")
        .and_then(Value::as_array)
        .ok_or("not a JWK Set (no keys array)")
}

/// RFC 7515 4.1.11: a recipient must refuse a JWS whose `crit` names an
/// extension it does not understand; this server understands none. Also
/// refuses `none` and HMAC outright (RFC 8725 3.1-3.2), whatever key is found.
pub fn acceptable_header(header: &Header) -> Result<(), Refusal> {
    if header.crit.is_some() {
        return Err("critical header extensions are not supported");
    }
    if matches!(
        header.alg,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
    ) {
        return Err("HMAC algorithms are not accepted");
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use serde_json::json;

    fn rsa_jwk(bits: u32) -> Value {
        let rsa = openssl::rsa::Rsa::generate(bits).unwrap();
        json!({"kty": "RSA", "kid": "k1", "n": URL_SAFE_NO_PAD.encode(rsa.n().to_vec()),
               "e": URL_SAFE_NO_PAD.encode(rsa.e().to_vec())})
    }

    #[test]
    fn keys_are_used_only_as_they_say() {
        let k = rsa_jwk(2048);
        let p = public_key(&k).unwrap();
        assert!(p.allows(Algorithm::RS384) && !p.allows(Algorithm::ES384));
        assert!(!p.allows(Algorithm::HS256));
        let mut named = k.clone();
        named["alg"] = json!("RS384");
        assert_eq!(
            public_key(&named).unwrap().algorithms,
            vec![Algorithm::RS384]
        );
        named["alg"] = json!("ES384");
        assert!(public_key(&named).is_err());
        named["alg"] = json!("HS256");
        assert!(public_key(&named).is_err());
        let mut enc = k.clone();
        enc["use"] = json!("enc");
        assert!(public_key(&enc).is_err());
        let mut ops = k.clone();
        ops["key_ops"] = json!(["encrypt"]);
        assert!(public_key(&ops).is_err());
        let mut private = k.clone();
        private["d"] = json!("AAAA");
        assert!(public_key(&private).is_err());
        assert!(public_key(&json!({"kty": "oct", "k": "c2VjcmV0"})).is_err());
        assert!(public_key(&rsa_jwk(1024)).is_err());
    }

    #[test]
    fn crit_and_hmac_headers_are_refused() {
        let mut h = Header::new(Algorithm::RS256);
        assert!(acceptable_header(&h).is_ok());
        h.crit = Some(vec!["b64".into()]);
        assert!(acceptable_header(&h).is_err());
        assert!(acceptable_header(&Header::new(Algorithm::HS256)).is_err());
    }
}
