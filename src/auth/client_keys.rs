//! Backend Services client authentication (SMART App Launch 2.0.0,
//! client-confidential-asymmetric.html#authenticating-to-the-token-endpoint;
//! RFC 7523 section 3): a client signs an assertion JWT with its private key;
//! the server verifies it with the public key registered for the client (by
//! value, a JWKS), chosen by the assertion's `kid`. Accepted algorithms:
//! RS384 and ES384, which the SMART text requires clients to support.

use jsonwebtoken::{decode, decode_header, Algorithm, Validation};
use serde::Deserialize;
use serde_json::Value;

use super::jwk::{self, PublicKey};
use super::AuthError;

/// Longest an assertion may be valid for from now
/// (client-confidential-asymmetric.html: `exp` "SHALL be no more than five
/// minutes in the future").
pub const MAX_ASSERTION_SECS: i64 = 300;

/// Clock skew allowed between a client and this server on `exp`, `nbf` and
/// the five-minute limit (RFC 7519 4.1.4 "MAY provide for some small leeway").
/// The replay window (store/auth/grants.rs `first_use_of_jti`) outlasts it.
pub const SKEW_SECS: i64 = 10;

const ALGS: [Algorithm; 2] = [Algorithm::RS384, Algorithm::ES384];

/// The registered keys of one client, each with the algorithms it may verify
/// (RS384 for RSA, ES384 for P-384, or the one its `alg` names).
fn keys(v: &Value) -> Result<Vec<PublicKey>, AuthError> {
    let bad = |m: &str| AuthError::InvalidRequest(m.to_owned());
    let members = jwk::members(v).map_err(bad)?;
    if members.is_empty() {
        return Err(bad("the JWKS has no keys"));
    }
    let mut out: Vec<PublicKey> = Vec::new();
    for m in members {
        let mut k = jwk::public_key(m).map_err(bad)?;
        k.algorithms.retain(|a| ALGS.contains(a));
        if k.algorithms.is_empty() {
            return Err(bad(
                "keys must be RSA (RS384) or EC P-384 (ES384) public keys",
            ));
        }
        let Some(kid) = &k.kid else {
            return Err(bad("every key needs a kid"));
        };
        // client-confidential-asymmetric.html: the kid "SHALL be unique
        // within the client's JWK Set".
        if out.iter().any(|o| o.kid.as_deref() == Some(kid.as_str())) {
            return Err(bad("two keys have the same kid"));
        }
        out.push(k);
    }
    Ok(out)
}

/// A JWKS a backend client may register: RSA (2048 bits or more) or P-384
/// public keys, each with a unique `kid`, none private.
pub fn check_jwks(v: &Value) -> Result<(), AuthError> {
    keys(v).map(|_| ())
}

#[derive(Debug, Deserialize)]
pub struct Assertion {
    pub iss: String,
    pub sub: String,
    pub exp: i64,
    #[serde(default)]
    pub jti: String,
}

/// Verifies a client assertion of `client_id` against the client's registered
/// `jwks`: algorithm RS384/ES384 as the key allows, key by `kid` (exactly
/// one), signature, `iss` = `sub` = client id, `aud` one of `audiences` (the
/// token endpoint, or the endpoint called), `exp` not passed and at most five
/// minutes ahead, `nbf` passed, a `jti`. The caller checks the `jti` is new.
pub fn verify_assertion(
    jwks: &Value,
    assertion: &str,
    client_id: &str,
    audiences: &[&str],
    now: i64,
) -> Result<Assertion, AuthError> {
    let bad = |m: &str| AuthError::InvalidRequest(m.to_owned());
    let header = decode_header(assertion).map_err(|_| bad("the client assertion is not a JWT"))?;
    jwk::acceptable_header(&header).map_err(bad)?;
    if !ALGS.contains(&header.alg) {
        return Err(bad("the client assertion must be signed RS384 or ES384"));
    }
    // SMART: typ "JWT"; refusing other types keeps other JWTs (an access
    // token, `at+jwt`) from passing as assertions (RFC 8725 3.11).
    if header
        .typ
        .as_deref()
        .is_some_and(|t| !t.eq_ignore_ascii_case("JWT"))
    {
        return Err(bad("the client assertion's typ must be JWT"));
    }
    let kid = header
        .kid
        .ok_or_else(|| bad("the client assertion has no kid"))?;
    let keys = keys(jwks).map_err(|_| bad("the client's registered keys are unusable"))?;
    // client-confidential-asymmetric.html#signature-verification step 3: the
    // single key whose kid matches and whose type fits the algorithm.
    let mut candidates = keys
        .iter()
        .filter(|k| k.kid.as_deref() == Some(kid.as_str()) && k.allows(header.alg));
    let key = match (candidates.next(), candidates.next()) {
        (Some(k), None) => k,
        _ => return Err(bad("no registered key has this kid and algorithm")),
    };
    let mut v = Validation::new(header.alg);
    v.leeway = u64::try_from(SKEW_SECS).unwrap_or(0);
    v.validate_nbf = true;
    v.set_audience(audiences);
    v.set_issuer(&[client_id]);
    v.sub = Some(client_id.to_owned());
    v.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    let a = decode::<Assertion>(assertion, &key.key, &v)
        .map_err(|e| {
            bad(&format!(
                "client assertion refused: {}",
                super::authority::refusal(&e)
            ))
        })?
        .claims;
    if a.exp > now + MAX_ASSERTION_SECS + SKEW_SECS {
        return Err(bad(
            "the client assertion's exp is more than five minutes ahead",
        ));
    }
    if a.jti.is_empty() {
        return Err(bad("the client assertion has no jti"));
    }
    Ok(a)
}
