//! Tokens of a trusted external OpenID Connect issuer
//! (`[[auth.external_issuers]]`, JWKS from a file): accepted when signed by
//! its key with an algorithm configured for it and the key allows, for this
//! server's audience; refused otherwise (RFC 8725 3.1-3.2: no `none`, no
//! HMAC keyed with the issuer's public key; RFC 7517 4.4: a key's `alg`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use fhirgate::config::auth::ExternalIssuer;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::smart_keys::{get_with, now};

const ISS: &str = "https://idp.example.org/realms/clinic";

struct Idp {
    encoding: EncodingKey,
    n: String,
    dir: std::path::PathBuf,
}

fn idp() -> Idp {
    let rsa = openssl::rsa::Rsa::generate(2048).unwrap();
    let n = URL_SAFE_NO_PAD.encode(rsa.n().to_vec());
    let e = URL_SAFE_NO_PAD.encode(rsa.e().to_vec());
    let dir = std::env::temp_dir().join(format!("fhirgate-idp-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    // One signing key that names its algorithm, and an encryption key the
    // verifier must skip.
    let enc = openssl::rsa::Rsa::generate(2048).unwrap();
    let jwks = json!({"keys": [
        {"kty": "RSA", "kid": "sig-1", "use": "sig", "alg": "RS256", "n": n, "e": e},
        {"kty": "RSA", "kid": "enc-1", "use": "enc", "alg": "RSA-OAEP",
         "n": URL_SAFE_NO_PAD.encode(enc.n().to_vec()), "e": e},
    ]});
    std::fs::write(dir.join("jwks.json"), jwks.to_string()).unwrap();
    Idp {
        encoding: EncodingKey::from_rsa_der(&rsa.private_key_to_der().unwrap()),
        n,
        dir,
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn claims(aud: &str) -> Value {
    json!({"iss": ISS, "sub": "u-17", "aud": aud, "exp": now() + 300, "iat": now(),
           "scope": "system/Patient.rs", "azp": "portal"})
}

fn sign(idp: &Idp, alg: Algorithm, kid: &str, c: &Value) -> String {
    let mut h = Header::new(alg);
    h.kid = Some(kid.into());
    jsonwebtoken::encode(&h, c, &idp.encoding).unwrap()
}

#[tokio::test]
async fn smart_external_issuer_tokens_are_verified_by_its_keys() {
    let idp = idp();
    let jwks_file = idp.dir.join("jwks.json");
    let app = spawn_app_with(|s| {
        s.auth.external_issuers = vec![ExternalIssuer {
            issuer: ISS.into(),
            jwks_file: Some(jwks_file),
            jwks_url: None,
            audience: None,
            // RS384 is configured, but the key itself says RS256 only.
            algorithms: vec!["RS256".into(), "RS384".into()],
            role_claim: None,
            tenant: None,
            tenant_claim: None,
        }];
    })
    .await;
    app.create(&patient("External", "EX-1")).await;

    let good = sign(&idp, Algorithm::RS256, "sig-1", &claims(&app.base));
    let r = get_with(&app, "Patient", &good).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["total"], 1);
    // The scope of the token bounds it: Observation was not granted.
    assert_eq!(get_with(&app, "Observation", &good).await.status(), 403);

    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some("sig-1".into());
    let hmac = |secret: &[u8]| {
        jsonwebtoken::encode(&hs, &claims(&app.base), &EncodingKey::from_secret(secret)).unwrap()
    };
    let bad: Vec<(&str, String)> = vec![
        (
            "wrong aud",
            sign(
                &idp,
                Algorithm::RS256,
                "sig-1",
                &claims("https://other.example/fhir"),
            ),
        ),
        (
            "alg the key does not allow",
            sign(&idp, Algorithm::RS384, "sig-1", &claims(&app.base)),
        ),
        (
            "alg not configured",
            sign(&idp, Algorithm::RS512, "sig-1", &claims(&app.base)),
        ),
        ("HS256 keyed with the JWK's n", hmac(idp.n.as_bytes())),
        (
            "HS256 keyed with the JWK",
            hmac(std::fs::read(idp.dir.join("jwks.json")).unwrap().as_slice()),
        ),
        (
            "the encryption key's kid",
            sign(&idp, Algorithm::RS256, "enc-1", &claims(&app.base)),
        ),
        (
            "unknown kid",
            sign(&idp, Algorithm::RS256, "sig-9", &claims(&app.base)),
        ),
        ("expired", {
            let mut c = claims(&app.base);
            c["exp"] = json!(now() - 120);
            sign(&idp, Algorithm::RS256, "sig-1", &c)
        }),
        ("an issuer not trusted", {
            let mut c = claims(&app.base);
            c["iss"] = json!("https://idp.example.org/realms/other");
            sign(&idp, Algorithm::RS256, "sig-1", &c)
        }),
    ];
    for (what, token) in bad {
        let r = get_with(&app, "Patient", &token).await;
        assert_eq!(r.status(), 401, "{what}");
        let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
        assert!(
            challenge.contains("error=\"invalid_token\""),
            "{what}: {challenge}"
        );
    }
}

#[tokio::test]
async fn smart_external_issuer_settings_are_checked_at_start() {
    use fhirgate::auth::external::External;
    let idp = idp();
    let issuer = |algorithms: Vec<String>, file: bool| ExternalIssuer {
        issuer: ISS.into(),
        jwks_file: file.then(|| idp.dir.join("jwks.json")),
        jwks_url: (!file).then(|| "http://idp.example.org/jwks".to_owned()),
        audience: None,
        algorithms,
        role_claim: None,
        tenant: None,
        tenant_claim: None,
    };
    let roles = Default::default();
    assert!(External::load(
        &[issuer(vec!["RS256".into()], true)],
        &roles,
        &fhirgate::tenant::TenantId::default_tenant()
    )
    .await
    .is_ok());
    assert!(
        External::load(
            &[issuer(vec!["HS256".into()], true)],
            &roles,
            &fhirgate::tenant::TenantId::default_tenant()
        )
        .await
        .is_err(),
        "an HMAC algorithm is not configurable"
    );
    assert!(
        External::load(
            &[issuer(vec!["ES384".into()], true)],
            &roles,
            &fhirgate::tenant::TenantId::default_tenant()
        )
        .await
        .is_err(),
        "no key of the set allows ES384"
    );
    assert!(
        External::load(
            &[issuer(Vec::new(), false)],
            &roles,
            &fhirgate::tenant::TenantId::default_tenant()
        )
        .await
        .is_err(),
        "a JWKS URL must be https"
    );
}
