//! SMART Backend Services (App Launch 2.0.0 backend-services.html and
//! client-confidential-asymmetric.html): a backend client registered with its
//! public keys by value obtains a short-lived access token for the `system/`
//! scopes it was pre-authorized for, by a signed assertion (RS384 or ES384)
//! that is refused when forged, stale, replayed or mis-addressed. Errors are
//! RFC 6749 5.2 JSON (`invalid_client` for any authentication failure).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use fhirgate::store::auth::clients;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::smart_keys::*;

#[tokio::test]
async fn smart_backend_rs384_and_es384_get_only_the_system_scopes_they_may() {
    let app = spawn_app().await;
    app.create(&patient("Backend", "BK-1")).await;
    let (rsa, ec) = (rsa_key("rsa-1"), ec_key("ec-1"));
    register(
        &app,
        "lab",
        &[&rsa, &ec],
        "system/Patient.rs system/Observation.rs",
    );
    for key in [&rsa, &ec] {
        let a = sign(key, &claims("lab", &token_endpoint(&app)));
        // Requested: one pre-authorized system scope, one system scope not
        // authorized, and patient/ and user/ scopes: only the first is granted.
        let (status, body) = request_token(
            &app,
            &a,
            "system/Patient.rs system/Encounter.rs patient/Observation.rs user/Patient.rs",
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["scope"], "system/Patient.rs");
        assert!(body["token_type"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case("bearer"));
        let ttl = body["expires_in"].as_u64().unwrap();
        assert!(ttl > 0 && ttl <= 300, "{body}");
        assert!(body.get("refresh_token").is_none(), "{body}");
        let token = body["access_token"].as_str().unwrap();
        let found = get_with(&app, "Patient", token).await;
        assert_eq!(found.status(), 200);
        let found: Value = found.json().await.unwrap();
        assert_eq!(found["total"], 1);
        // Observation was authorized for the client but not asked for.
        assert_outcome(get_with(&app, "Observation", token).await, 403).await;
    }
    // Only patient/ and user/ scopes: nothing to grant.
    let a = sign(&rsa, &claims("lab", &token_endpoint(&app)));
    let (status, body) = request_token(&app, &a, "patient/Patient.rs user/*.rs").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    // No scope at all: the parameter is required.
    let a = sign(&rsa, &claims("lab", &token_endpoint(&app)));
    let r = post_form(
        &token_endpoint(&app),
        &[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &a),
        ],
    )
    .await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_request");
}

#[tokio::test]
async fn smart_backend_refuses_bad_assertions() {
    let app = spawn_app().await;
    let key = rsa_key("k1");
    register(&app, "svc", &[&key], "system/*.rs");
    let disabled_key = ec_key("k2");
    register(&app, "gone", &[&disabled_key], "system/*.rs");
    clients::disable(&mut app.conn(), "default", "gone").unwrap();
    let aud = token_endpoint(&app);
    let with = |f: &dyn Fn(&mut Value)| {
        let mut c = claims("svc", &aud);
        f(&mut c);
        c
    };
    let stranger = rsa_key("k1"); // an unregistered key under the registered kid
    let other_kid = rsa_key("k9");
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some("k1".into());
    let hs256 = jsonwebtoken::encode(
        &hs,
        &claims("svc", &aud),
        &EncodingKey::from_secret(key.jwk["n"].as_str().unwrap().as_bytes()),
    )
    .unwrap();
    let cases: Vec<(&str, &str, String)> = vec![
        (
            "exp six minutes ahead",
            "five minutes",
            sign(&key, &with(&|c| c["exp"] = json!(now() + 360))),
        ),
        (
            "expired",
            "expired",
            sign(&key, &with(&|c| c["exp"] = json!(now() - 60))),
        ),
        (
            "nbf ahead",
            "nbf",
            sign(&key, &with(&|c| c["nbf"] = json!(now() + 120))),
        ),
        ("unknown kid", "kid", sign(&other_kid, &claims("svc", &aud))),
        (
            "unregistered key",
            "signature",
            sign(&stranger, &claims("svc", &aud)),
        ),
        (
            "wrong aud",
            "audience",
            sign(&key, &with(&|c| c["aud"] = json!(app.base.clone()))),
        ),
        (
            "iss is not sub",
            "issuer",
            sign(&key, &with(&|c| c["iss"] = json!("other"))),
        ),
        (
            "no jti",
            "jti",
            sign(
                &key,
                &with(&|c| {
                    c.as_object_mut().unwrap().remove("jti");
                }),
            ),
        ),
        ("HS256", "HMAC", hs256),
        ("alg none", "not a JWT", {
            let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT","kid":"k1"}"#);
            let p = URL_SAFE_NO_PAD.encode(claims("svc", &aud).to_string());
            format!("{h}.{p}.")
        }),
        (
            "disabled client",
            "failed",
            sign(&disabled_key, &claims("gone", &aud)),
        ),
        (
            "unknown client",
            "failed",
            sign(&key, &claims("nobody", &aud)),
        ),
        ("garbage", "not a JWT", "not-a-jwt".into()),
    ];
    let n = cases.len() as i64;
    for (what, why, a) in cases {
        let (status, body) = request_token(&app, &a, "system/*.rs").await;
        // RFC 6749 5.2: 400 unless the client used HTTP Basic.
        assert_eq!(status, 400, "{what}: {body}");
        assert_eq!(body["error"], "invalid_client", "{what}: {body}");
        let description = body["error_description"].as_str().unwrap();
        assert!(
            description.contains(why),
            "{what}: refused for {description:?}"
        );
    }
    // A replayed jti: the first use succeeds, the second is refused.
    let once = sign(&key, &claims("svc", &aud));
    assert_eq!(request_token(&app, &once, "system/*.rs").await.0, 200);
    let (status, body) = request_token(&app, &once, "system/*.rs").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_client")),
        "{body}"
    );
    // Each refusal left an AuditEvent with outcome 4 (minor failure).
    let q = "subtype=operation&outcome=4";
    assert_eq!(audited(&app, q, n + 1).await, n + 1);
    assert_eq!(audited(&app, "subtype=operation&outcome=0", 1).await, 1);
}

#[tokio::test]
async fn smart_backend_client_authentication_rules() {
    let app = spawn_app().await;
    let key = ec_key("k1");
    register(&app, "svc", &[&key], "system/*.rs");
    let url = token_endpoint(&app);
    let a = sign(&key, &claims("svc", &url));
    // A wrong assertion type.
    let r = post_form(
        &url,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "system/*.rs"),
            ("client_assertion_type", "urn:example"),
            ("client_assertion", &a),
        ],
    )
    .await;
    assert_eq!(r.status(), 400);
    // A client_id other than the assertion's (RFC 7521 4.2).
    let r = post_form(
        &url,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "system/*.rs"),
            ("client_id", "someone"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &a),
        ],
    )
    .await;
    assert_eq!(r.status(), 400);
    // Two authentication methods at once (RFC 6749 2.3).
    let r = plain()
        .post(&url)
        .basic_auth("svc", Some("secret"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            serde_urlencoded::to_string([
                ("grant_type", "client_credentials"),
                ("scope", "system/*.rs"),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", a.as_str()),
            ])
            .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_request");
    // The same assertion (its jti unused so far) with the matching client_id works.
    let r = post_form(
        &url,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "system/*.rs"),
            ("client_id", "svc"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &a),
        ],
    )
    .await;
    assert_eq!(r.status(), 200);
}

#[test]
fn smart_backend_registration_refuses_unusable_key_sets() {
    use fhirgate::auth::client_keys::check_jwks;
    let k = rsa_key("a");
    let e = ec_key("b");
    assert!(check_jwks(&json!({"keys": [k.jwk, e.jwk]})).is_ok());
    let dup = json!({"keys": [rsa_key("a").jwk, rsa_key("a").jwk]});
    assert!(check_jwks(&dup).is_err(), "two keys with one kid");
    let mut private = rsa_key("p").jwk;
    private["d"] = json!("AQAB");
    assert!(check_jwks(&json!({"keys": [private]})).is_err());
    let mut no_kid = rsa_key("x").jwk;
    no_kid.as_object_mut().unwrap().remove("kid");
    assert!(check_jwks(&json!({"keys": [no_kid]})).is_err());
    assert!(check_jwks(&json!({"keys": [{"kty": "oct", "kid": "s", "k": "c2VjcmV0"}]})).is_err());
    assert!(check_jwks(&json!({"keys": []})).is_err());
    let mut p256 = ec_key("c").jwk;
    p256["crv"] = json!("P-256");
    assert!(
        check_jwks(&json!({"keys": [p256]})).is_err(),
        "ES256 is not a backend algorithm"
    );
}
