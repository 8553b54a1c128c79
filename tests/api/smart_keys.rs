//! Backend Services helpers of the SMART tests (smart_backend, smart_tokens,
//! smart_external, smart_introspect): client keys made in the test (RSA for
//! RS384, P-384 for ES384) registered by value, assertions signed with them,
//! form posts, and AuditEvent counts.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use fhirgate::store::auth::{clients, ClientRow};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::helpers::*;

/// A client key pair made for the test: the private half signs, the JWK is
/// registered.
pub struct Key {
    pub kid: String,
    pub alg: Algorithm,
    pub encoding: EncodingKey,
    pub jwk: Value,
}

pub fn rsa_key(kid: &str) -> Key {
    let rsa = openssl::rsa::Rsa::generate(2048).unwrap();
    Key {
        kid: kid.into(),
        alg: Algorithm::RS384,
        encoding: EncodingKey::from_rsa_der(&rsa.private_key_to_der().unwrap()),
        jwk: json!({"kty": "RSA", "kid": kid, "alg": "RS384", "use": "sig",
                    "n": URL_SAFE_NO_PAD.encode(rsa.n().to_vec()),
                    "e": URL_SAFE_NO_PAD.encode(rsa.e().to_vec())}),
    }
}

pub fn ec_key(kid: &str) -> Key {
    use openssl::{bn::BigNumContext, ec::EcGroup, ec::EcKey, nid::Nid, pkey::PKey};
    let group = EcGroup::from_curve_name(Nid::SECP384R1).unwrap();
    let ec = EcKey::generate(&group).unwrap();
    let (mut x, mut y) = (
        openssl::bn::BigNum::new().unwrap(),
        openssl::bn::BigNum::new().unwrap(),
    );
    let mut ctx = BigNumContext::new().unwrap();
    ec.public_key()
        .affine_coordinates(&group, &mut x, &mut y, &mut ctx)
        .unwrap();
    let der = PKey::from_ec_key(ec)
        .unwrap()
        .private_key_to_pkcs8()
        .unwrap();
    Key {
        kid: kid.into(),
        alg: Algorithm::ES384,
        encoding: EncodingKey::from_ec_der(&der),
        jwk: json!({"kty": "EC", "kid": kid, "crv": "P-384",
                    "x": URL_SAFE_NO_PAD.encode(x.to_vec_padded(48).unwrap()),
                    "y": URL_SAFE_NO_PAD.encode(y.to_vec_padded(48).unwrap())}),
    }
}

/// Registers a backend client with `keys` and the most it may get, `scopes`.
pub fn register(app: &TestApp, client_id: &str, keys: &[&Key], scopes: &str) {
    let jwks = json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()});
    fhirgate::auth::client_keys::check_jwks(&jwks).unwrap();
    let row = ClientRow {
        client_id: client_id.into(),
        name: client_id.into(),
        kind: "backend".into(),
        secret_hash: None,
        redirect_uris: Vec::new(),
        jwks: Some(jwks),
        scopes: scopes.into(),
        disabled: false,
    };
    clients::insert(&mut app.conn(), "default", &row).unwrap();
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub fn token_endpoint(app: &TestApp) -> String {
    format!("{}/auth/token", app.base)
}

/// The standard assertion claims for `client_id` at `aud`, valid four minutes.
pub fn claims(client_id: &str, aud: &str) -> Value {
    json!({"iss": client_id, "sub": client_id, "aud": aud, "exp": now() + 240,
           "iat": now(), "jti": uuid::Uuid::new_v4().to_string()})
}

pub fn sign(key: &Key, claims: &Value) -> String {
    let mut h = Header::new(key.alg);
    h.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&h, claims, &key.encoding).unwrap()
}

/// A client without a default token, following no redirects.
pub fn plain() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// POSTs a form to `url`.
pub async fn post_form(url: &str, form: &[(&str, &str)]) -> reqwest::Response {
    plain()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(form).unwrap())
        .send()
        .await
        .unwrap()
}

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A client_credentials request with `assertion`; (status, JSON body).
pub async fn request_token(app: &TestApp, assertion: &str, scope: &str) -> (u16, Value) {
    let r = post_form(
        &token_endpoint(app),
        &[
            ("grant_type", "client_credentials"),
            ("scope", scope),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion),
        ],
    )
    .await;
    let status = r.status().as_u16();
    assert_eq!(r.headers()["cache-control"], "no-store");
    (status, r.json().await.unwrap())
}

/// A backend token for `client_id` signed by `key`, with `scope`.
pub async fn backend_token(app: &TestApp, key: &Key, client_id: &str, scope: &str) -> String {
    let a = sign(key, &claims(client_id, &token_endpoint(app)));
    let (status, body) = request_token(app, &a, scope).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

pub async fn get_with(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    plain()
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// Polls the AuditEvents matching `query` until there are `n`; their total.
pub async fn audited(app: &TestApp, query: &str, n: i64) -> i64 {
    let mut total = 0;
    for _ in 0..50 {
        total = app.get_value(&format!("AuditEvent?{query}")).await["total"]
            .as_i64()
            .unwrap_or(0);
        if total >= n {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    total
}
