//! The resource server's attack table (SMART App Launch 2.0.0
//! backend-services.html#access-fhir-api: "The resource server SHALL
//! validate the access token"; RFC 6750 3.1; RFC 8725): every forged,
//! stale, mis-addressed or withdrawn token gets 401 with
//! `WWW-Authenticate: Bearer ... error="invalid_token"`, is audited
//! (outcome 4), and none gets a 5xx. A request without a token, or with
//! another scheme, gets the challenge without an error code (RFC 6750 3).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use fhirgate::auth::token::AccessClaims;
use fhirgate::auth::TokenSpec;
use fhirgate::store::auth::{clients, users, ClientRow};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::smart_keys::{audited, get_with, now, plain};

/// A valid token's claims (client `app`, `system/Patient.rs`), to spoil.
fn valid(app: &TestApp) -> AccessClaims {
    app.authority
        .issue(TokenSpec {
            sub: "app".into(),
            client_id: "app".into(),
            scope: "system/Patient.rs".into(),
            ..Default::default()
        })
        .unwrap()
        .1
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

/// The server's signing key as published: (kid, n, e).
fn published(app: &TestApp) -> (String, Vec<u8>, Vec<u8>) {
    let jwks = app.authority.jwks();
    let k = &jwks["keys"][0];
    let part = |m: &str| URL_SAFE_NO_PAD.decode(k[m].as_str().unwrap()).unwrap();
    (k["kid"].as_str().unwrap().to_owned(), part("n"), part("e"))
}

/// Claims of `c` with `edit` applied, signed by the server's own key.
fn resigned(app: &TestApp, c: &AccessClaims, edit: impl Fn(&mut Value)) -> String {
    let mut v = serde_json::to_value(c).unwrap();
    edit(&mut v);
    app.authority.sign_access(&v).unwrap()
}

async fn refused(app: &TestApp, what: &str, why: &str, token: &str) {
    let r = get_with(app, "Patient", token).await;
    assert_eq!(r.status(), 401, "{what}");
    let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(
        challenge.starts_with("Bearer ") && challenge.contains("error=\"invalid_token\""),
        "{what}: {challenge}"
    );
    assert!(
        !challenge.contains(token),
        "{what}: the challenge repeats the token"
    );
    assert!(challenge.contains(why), "{what}: refused for {challenge}");
    assert_outcome(r, 401).await;
}

#[tokio::test]
async fn smart_tokens_attack_table_is_refused_and_audited() {
    let app = spawn_app().await;
    let c = valid(&app);
    let (kid, n, e) = published(&app);

    // alg none, hand-built.
    let none = {
        let h = json!({"alg": "none", "typ": "at+jwt", "kid": kid});
        format!("{}.{}.", b64(&h), b64(&serde_json::to_value(&c).unwrap()))
    };
    // HS256 with the server's public key as the HMAC secret, in the forms a
    // confused verifier might use: PEM (PKCS#1 and SPKI) and the raw modulus.
    let rsa = openssl::rsa::Rsa::from_public_components(
        openssl::bn::BigNum::from_slice(&n).unwrap(),
        openssl::bn::BigNum::from_slice(&e).unwrap(),
    )
    .unwrap();
    let pkcs1 = rsa.public_key_to_pem_pkcs1().unwrap();
    let spki = openssl::pkey::PKey::from_rsa(rsa)
        .unwrap()
        .public_key_to_pem()
        .unwrap();
    let hs256 = |secret: &[u8]| {
        let mut h = Header::new(Algorithm::HS256);
        h.kid = Some(kid.clone());
        h.typ = Some("at+jwt".into());
        jsonwebtoken::encode(&h, &c, &EncodingKey::from_secret(secret)).unwrap()
    };
    // Signed by a key of the attacker's under the server's kid.
    let forged = {
        let other = openssl::rsa::Rsa::generate(2048).unwrap();
        let mut h = Header::new(Algorithm::RS256);
        h.kid = Some(kid.clone());
        h.typ = Some("at+jwt".into());
        let key = EncodingKey::from_rsa_der(&other.private_key_to_der().unwrap());
        jsonwebtoken::encode(&h, &c, &key).unwrap()
    };
    // A valid token whose payload was widened after signing.
    let tampered = {
        let (token, _) = app
            .authority
            .issue(TokenSpec {
                sub: "app".into(),
                client_id: "app".into(),
                scope: "system/Patient.r".into(),
                ..Default::default()
            })
            .unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let mut payload: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        payload["scope"] = json!("system/*.cruds");
        format!("{}.{}.{}", parts[0], b64(&payload), parts[2])
    };
    // A token of a client, then of a user, disabled since; and one revoked.
    let mut conn = app.conn();
    clients::insert(
        &mut conn,
        "default",
        &ClientRow {
            client_id: "old-app".into(),
            name: "old-app".into(),
            kind: "public".into(),
            secret_hash: None,
            redirect_uris: vec!["https://app.example/cb".into()],
            jwks: None,
            scopes: "user/*.rs".into(),
            disabled: false,
        },
    )
    .unwrap();
    let of_client = app.authority.issue(TokenSpec {
        sub: "old-app".into(),
        client_id: "old-app".into(),
        scope: "system/Patient.rs".into(),
        ..Default::default()
    });
    users::insert(&mut conn, "default", &user_row("nurse1")).unwrap();
    let of_user = app.authority.issue(TokenSpec {
        sub: "user:nurse1".into(),
        client_id: "app".into(),
        scope: "user/Patient.rs".into(),
        username: Some("nurse1".into()),
        ..Default::default()
    });
    let (of_client, of_user) = (of_client.unwrap().0, of_user.unwrap().0);
    // Both work until disabled.
    assert_eq!(get_with(&app, "Patient", &of_client).await.status(), 200);
    assert_eq!(get_with(&app, "Patient", &of_user).await.status(), 200);
    assert!(clients::disable(&mut conn, "default", "old-app").unwrap());
    assert!(users::disable(&mut conn, "default", "nurse1").unwrap());
    app.authority.poll_revocations().await.unwrap();
    let (revoked, rc) = app
        .authority
        .issue(TokenSpec {
            sub: "app".into(),
            client_id: "app".into(),
            scope: "system/Patient.rs".into(),
            ..Default::default()
        })
        .unwrap();
    app.authority.revoke("jti", rc.jti).await.unwrap();

    let table: Vec<(&str, &str, String)> = vec![
        ("alg none", "malformed", none),
        ("HS256 keyed with the PKCS#1 PEM", "HMAC", hs256(&pkcs1)),
        ("HS256 keyed with the SPKI PEM", "HMAC", hs256(&spki)),
        ("HS256 keyed with the modulus", "HMAC", hs256(&n)),
        (
            "forged signature under the server's kid",
            "signature",
            forged,
        ),
        (
            "wrong aud",
            "audience",
            resigned(&app, &c, |v| v["aud"] = json!("https://other.example/fhir")),
        ),
        (
            "wrong iss",
            "issuer",
            resigned(&app, &c, |v| v["iss"] = json!("https://evil.example/fhir")),
        ),
        (
            "expired",
            "expired",
            resigned(&app, &c, |v| v["exp"] = json!(now() - 120)),
        ),
        (
            "nbf in the future",
            "nbf",
            resigned(&app, &c, |v| v["nbf"] = json!(now() + 600)),
        ),
        (
            "another tenant",
            "tenant",
            resigned(&app, &c, |v| v["tenant"] = json!("other")),
        ),
        (
            "no exp",
            "not a valid token",
            resigned(&app, &c, |v| {
                v.as_object_mut().unwrap().remove("exp");
            }),
        ),
        (
            "not an access token (typ JWT)",
            "typ",
            app.authority.sign(&c).unwrap(),
        ),
        ("tampered payload", "signature", tampered),
        ("disabled client", "revoked", of_client),
        ("disabled user", "revoked", of_user),
        ("revoked", "revoked", revoked),
        ("garbage", "malformed", "abc.def.ghi".into()),
    ];
    let n_refused = table.len() as i64;
    for (what, why, token) in &table {
        refused(&app, what, why, token).await;
    }
    // The control: the valid token reads.
    let (ok, _) = app
        .authority
        .issue(TokenSpec {
            sub: "app".into(),
            client_id: "app".into(),
            scope: "system/Patient.rs".into(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(get_with(&app, "Patient", &ok).await.status(), 200);

    // No token, or another scheme: the challenge without an error code.
    let bare = plain().get(app.url("Patient")).send().await.unwrap();
    assert_eq!(bare.status(), 401);
    assert_eq!(
        bare.headers()["www-authenticate"],
        "Bearer realm=\"fhirgate\""
    );
    let basic = plain()
        .get(app.url("Patient"))
        .basic_auth("app", Some("secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);
    assert_eq!(
        basic.headers()["www-authenticate"],
        "Bearer realm=\"fhirgate\""
    );
    // `Bearer` with nothing after it is a malformed request.
    let empty = plain()
        .get(app.url("Patient"))
        .header("authorization", "Bearer ")
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), 401);
    // The capability statement stays public (SMART conformance.html).
    let meta = plain().get(app.url("metadata")).send().await.unwrap();
    assert_eq!(meta.status(), 200);

    // Every refusal was audited as a failure (outcome 4): the table, the
    // request without a token, the Basic one and the empty Bearer.
    let expected = n_refused + 3;
    assert_eq!(audited(&app, "outcome=4", expected).await, expected);
}

pub fn user_row(name: &str) -> users::UserRow {
    users::UserRow {
        username: name.into(),
        password_hash: fhirgate::auth::password::hash("correct horse battery").unwrap(),
        role: "nurse".into(),
        fhir_user: Some("Practitioner/p1".into()),
        disabled: false,
        failed_logins: 0,
        locked_until: None,
    }
}

#[tokio::test]
async fn smart_tokens_no_case_is_a_server_error() {
    let app = spawn_app().await;
    // Odd shapes of Authorization and token: each a 4xx, never a 5xx.
    let odd = [
        "Bearer",
        "Bearer  ",
        "Bearer a",
        "Bearer a.b",
        "Bearer a.b.c.d.e",
        "Bearer ....",
        "Bearer eyJhbGciOiJSUzI1NiJ9.e30.",
        "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6Ingif.eyJpc3MiOjF9.AA",
        "bearer \u{7f}",
        "Basic",
        "Digest x",
        "",
    ];
    for v in odd {
        let r = plain()
            .get(app.url("Patient"))
            .header("authorization", v)
            .send()
            .await;
        let Ok(r) = r else { continue }; // a header reqwest will not send
        let s = r.status().as_u16();
        assert!((400..500).contains(&s), "{v:?}: {s}");
    }
    // An unknown kid makes the server look for new keys (rate-limited), not fail.
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some("unknown".into());
    h.typ = Some("at+jwt".into());
    let other = openssl::rsa::Rsa::generate(2048).unwrap();
    let key = EncodingKey::from_rsa_der(&other.private_key_to_der().unwrap());
    let t = jsonwebtoken::encode(&h, &valid(&app), &key).unwrap();
    for _ in 0..3 {
        assert_eq!(get_with(&app, "Patient", &t).await.status(), 401);
    }
}
