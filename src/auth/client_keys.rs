//! Backend Services client authentication (SMART App Launch 2.0.0,
//! backend-services.html#request-access-token; RFC 7523 section 3): a client
//! signs an assertion JWT with its private key; the server verifies it with
//! the public key registered for the client (by value, a JWKS), chosen by the
//! assertion's `kid`. Accepted algorithms: RS384 and ES384, which the SMART
//! text requires servers to support.

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

use super::AuthError;

/// Longest an assertion may be valid for from now (backend-services.html:
/// `exp` "no more than five minutes in the future").
pub const MAX_ASSERTION_SECS: i64 = 300;

const ALGS: [Algorithm; 2] = [Algorithm::RS384, Algorithm::ES384];

fn key_alg(k: &Jwk) -> Option<Algorithm> {
    use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve};
    match &k.algorithm {
        AlgorithmParameters::RSA(_) => Some(Algorithm::RS384),
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P384 => {
            Some(Algorithm::ES384)
        }
        _ => None,
    }
}

/// A JWKS a backend client may register: every key an RSA or P-384 public
/// key with a `kid` (the assertion names its key by it).
pub fn check_jwks(v: &Value) -> Result<(), AuthError> {
    let set: JwkSet = serde_json::from_value(v.clone())
        .map_err(|e| AuthError::InvalidRequest(format!("not a JWKS: {e}")))?;
    if set.keys.is_empty() {
        return Err(AuthError::InvalidRequest("the JWKS has no keys".into()));
    }
    for k in &set.keys {
        if k.common.key_id.as_deref().is_none_or(str::is_empty) {
            return Err(AuthError::InvalidRequest("every key needs a kid".into()));
        }
        if key_alg(k).is_none() {
            return Err(AuthError::InvalidRequest(
                "keys must be RSA (RS384) or EC P-384 (ES384) public keys".into(),
            ));
        }
        if v.to_string().contains("\"d\"") {
            return Err(AuthError::InvalidRequest(
                "the JWKS holds a private key: register the public keys only".into(),
            ));
        }
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
pub struct Assertion {
    pub iss: String,
    pub sub: String,
    pub exp: i64,
    pub jti: String,
}

/// Verifies a client assertion of `client_id` for `token_endpoint` against
/// the client's registered `jwks`: algorithm, key by `kid`, signature,
/// `iss` = `sub` = client id, `aud` = the token endpoint, not expired and
/// `exp` at most five minutes ahead. The caller checks the `jti` is new.
pub fn verify_assertion(
    jwks: &Value,
    assertion: &str,
    client_id: &str,
    token_endpoint: &str,
    now: i64,
) -> Result<Assertion, AuthError> {
    let bad = |m: &str| AuthError::InvalidRequest(m.to_owned());
    let header = decode_header(assertion).map_err(|_| bad("the client assertion is not a JWT"))?;
    if !ALGS.contains(&header.alg) {
        return Err(bad("the client assertion must be signed RS384 or ES384"));
    }
    let kid = header
        .kid
        .ok_or_else(|| bad("the client assertion has no kid"))?;
    let set: JwkSet =
        serde_json::from_value(jwks.clone()).map_err(|_| bad("the client's keys are unusable"))?;
    let jwk = set
        .keys
        .iter()
        .find(|k| k.common.key_id.as_deref() == Some(kid.as_str()))
        .ok_or_else(|| bad("no registered key has this kid"))?;
    if key_alg(jwk) != Some(header.alg) {
        return Err(bad("the algorithm does not match the registered key"));
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|_| bad("the registered key is unusable"))?;
    let mut v = Validation::new(header.alg);
    v.leeway = 0;
    v.set_audience(&[token_endpoint]);
    v.set_issuer(&[client_id]);
    v.sub = Some(client_id.to_owned());
    v.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    let a = decode::<Assertion>(assertion, &key, &v)
        .map_err(|e| {
            bad(&format!(
                "client assertion refused: {}",
                super::authority::refused(&e)
            ))
        })?
        .claims;
    if a.exp > now + MAX_ASSERTION_SECS {
        return Err(bad(
            "the client assertion's exp is more than five minutes ahead",
        ));
    }
    if a.jti.is_empty() {
        return Err(bad("the client assertion has no jti"));
    }
    Ok(a)
}
