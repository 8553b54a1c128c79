//! Token introspection (RFC 7662; SMART App Launch 2.0.0
//! token-introspection.html); revocation (RFC 7009) in smart_revoke.rs.
//! - An active token's answer carries `active`, `scope`, `client_id`, `exp`
//!   (required by SMART), the launch context (`patient`) and `fhirUser`;
//!   anything else is answered exactly `{"active":false}`.
//! - The endpoint is protected: a bearer token with a `system/` scope, or
//!   client authentication (then only the client's own tokens).

use fhirgate::auth::TokenSpec;
use fhirgate::store::auth::{clients, grants, users, ClientRow};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::smart_keys::{backend_token, claims, now, plain, register, rsa_key, sign, JWT_BEARER};
use crate::smart_tokens::user_row;

pub const INACTIVE: &str = r#"{"active":false}"#;

fn introspect_url(app: &TestApp) -> String {
    format!("{}/auth/introspect", app.base)
}

pub fn revoke_url(app: &TestApp) -> String {
    format!("{}/auth/revoke", app.base)
}

/// POSTs `form` to `url` with the bearer `token`; (status, body text).
async fn as_bearer(
    url: &str,
    token: &str,
    form: &[(&str, &str)],
) -> (u16, String, reqwest::header::HeaderMap) {
    let r = plain()
        .post(url)
        .bearer_auth(token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(form).unwrap())
        .send()
        .await
        .unwrap();
    let (s, h) = (r.status().as_u16(), r.headers().clone());
    (s, r.text().await.unwrap(), h)
}

pub async fn form(url: &str, form: &[(&str, &str)]) -> (u16, String) {
    let r = crate::smart_keys::post_form(url, form).await;
    let s = r.status().as_u16();
    (s, r.text().await.unwrap())
}

/// A user's token of app `app` under grant `g1`, with launch context.
pub fn user_token(app: &TestApp) -> (String, fhirgate::auth::token::AccessClaims) {
    app.authority
        .issue(TokenSpec {
            sub: "user:doc".into(),
            client_id: "app".into(),
            scope: "launch/patient patient/*.rs openid fhirUser".into(),
            patient: Some("pat-1".into()),
            fhir_user: Some("Practitioner/p1".into()),
            username: Some("doc".into()),
            grant: Some("g1".into()),
            ..Default::default()
        })
        .unwrap()
}

pub fn public_app(app: &TestApp) {
    clients::insert(
        &mut app.conn(),
        "default",
        &ClientRow {
            client_id: "app".into(),
            name: "app".into(),
            kind: "public".into(),
            secret_hash: None,
            redirect_uris: vec!["https://app.example/cb".into()],
            jwks: None,
            scopes: "patient/*.rs launch/patient openid fhirUser offline_access".into(),
            disabled: false,
        },
    )
    .unwrap();
}

/// A refresh token of grant `grant_id` (client `app`, user `doc`), stored by
/// its digest as the token endpoint stores it.
pub fn refresh_token(app: &TestApp, grant_id: &str, expires_in: i64) -> String {
    let token = format!("rt-{}", uuid::Uuid::new_v4().simple());
    let mut conn = app.conn();
    let row = grants::GrantRow {
        grant_id: grant_id.into(),
        client_id: "app".into(),
        username: Some("doc".into()),
        scopes: "patient/*.rs offline_access".into(),
        context: json!({"patient": "pat-1"}),
        revoked_at: None,
    };
    let _ = grants::insert_grant(&mut conn, "default", &row);
    let digest = fhirgate::oauth::presented::digest(&token);
    let expires = chrono::Utc::now() + chrono::Duration::seconds(expires_in);
    grants::insert_refresh(
        &mut conn,
        "default",
        &digest,
        grant_id,
        &row.scopes,
        expires,
    )
    .unwrap();
    token
}

#[tokio::test]
async fn smart_introspect_answers_for_active_tokens_and_nothing_else() {
    let app = spawn_app().await;
    public_app(&app);
    let rs = rsa_key("rs-1");
    register(&app, "resource-server", &[&rs], "system/*.rs");
    let caller = backend_token(&app, &rs, "resource-server", "system/Patient.rs").await;
    users::insert(&mut app.conn(), "default", &user_row("doc")).unwrap();
    let url = introspect_url(&app);

    let (token, c) = user_token(&app);
    let (status, body, headers) = as_bearer(&url, &caller, &[("token", &token)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["active"], true);
    assert_eq!(v["scope"], "launch/patient patient/*.rs openid fhirUser");
    assert_eq!(v["client_id"], "app");
    assert_eq!(v["exp"], c.exp);
    assert_eq!(v["iat"], c.iat);
    assert_eq!(v["sub"], "user:doc");
    assert_eq!(v["username"], "doc");
    assert_eq!(v["iss"], app.authority.issuer.as_str());
    assert_eq!(v["aud"], c.aud.as_str());
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["patient"], "pat-1");
    assert_eq!(v["fhirUser"], "Practitioner/p1");
    // The caller's own token too (a backend token: no user, no context).
    let (_, body, _) = as_bearer(&url, &caller, &[("token", &caller)]).await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (v["active"].as_bool(), v["client_id"].as_str()),
        (Some(true), Some("resource-server"))
    );
    assert!(
        v.get("username").is_none() && v.get("patient").is_none(),
        "{v}"
    );

    // A refresh token (found by its digest), then one used and one expired.
    let rt = refresh_token(&app, "g-r", 3600);
    let (_, body, _) = as_bearer(
        &url,
        &caller,
        &[("token", &rt), ("token_type_hint", "refresh_token")],
    )
    .await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["active"], true, "{v}");
    assert_eq!(
        (v["client_id"].as_str(), v["username"].as_str()),
        (Some("app"), Some("doc"))
    );
    assert_eq!(
        (v["patient"].as_str(), v["fhirUser"].as_str()),
        (Some("pat-1"), Some("Practitioner/p1"))
    );
    let used = refresh_token(&app, "g-r", 3600);
    grants::take_refresh(
        &mut app.conn(),
        "default",
        &fhirgate::oauth::presented::digest(&used),
    )
    .unwrap();
    let expired_rt = refresh_token(&app, "g-r", -10);

    // Everything else: exactly {"active":false}.
    let mut other_claims = c.clone();
    other_claims.iss = "https://elsewhere.example/fhir".into();
    let mut expired_claims = serde_json::to_value(&c).unwrap();
    expired_claims["exp"] = json!(now() - 300);
    let (revoked, rc) = user_token(&app);
    app.authority.revoke("jti", rc.jti).await.unwrap();
    let inactive: Vec<(&str, String)> = vec![
        ("garbage", "not a token".into()),
        ("a JWT-looking garbage", "a.b.c".into()),
        (
            "expired",
            app.authority.sign_access(&expired_claims).unwrap(),
        ),
        (
            "another issuer",
            app.authority.sign_access(&other_claims).unwrap(),
        ),
        ("an id_token-typed JWT", app.authority.sign(&c).unwrap()),
        ("revoked", revoked),
        ("a used refresh token", used),
        ("an expired refresh token", expired_rt),
        ("an unknown refresh token", "rt-unknown".into()),
    ];
    for (what, t) in &inactive {
        let (status, body, _) = as_bearer(&url, &caller, &[("token", t)]).await;
        assert_eq!((status, body.as_str()), (200, INACTIVE), "{what}");
    }
    // A disabled user's tokens, access and refresh alike, at once (the
    // endpoint does not wait for the revocation poll).
    users::disable(&mut app.conn(), "default", "doc").unwrap();
    for t in [&token, &rt] {
        let (status, body, _) = as_bearer(&url, &caller, &[("token", t)]).await;
        assert_eq!((status, body.as_str()), (200, INACTIVE));
    }
    // No token parameter is a malformed request.
    let (status, body, _) = as_bearer(&url, &caller, &[("token_type_hint", "access_token")]).await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn smart_introspect_is_protected() {
    let app = spawn_app().await;
    public_app(&app);
    let key = rsa_key("k1");
    register(&app, "svc", &[&key], "system/*.rs");
    let url = introspect_url(&app);
    let (token, _) = user_token(&app);
    let own = backend_token(&app, &key, "svc", "system/Patient.rs").await;

    // Nobody, a public client, a bad bearer token, a token without system/.
    assert_eq!(form(&url, &[("token", &token)]).await.0, 401);
    // A public client has no credentials: invalid_client, 400 (RFC 6749 5.2).
    assert_eq!(
        form(&url, &[("token", &token), ("client_id", "app")])
            .await
            .0,
        400
    );
    let (status, _, h) = as_bearer(&url, "garbage", &[("token", &token)]).await;
    assert_eq!(status, 401);
    assert!(h["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("error=\"invalid_token\""));
    let (status, _, h) = as_bearer(&url, &token, &[("token", &token)]).await;
    assert_eq!(status, 401);
    assert!(h["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("insufficient_scope"));

    // A backend client by its assertion (aud: this endpoint, or the token
    // endpoint): its own token is active, another client's is not disclosed.
    let assertion = |aud: &str| sign(&key, &claims("svc", aud));
    let ask = |a: String, t: String| {
        let url = url.clone();
        async move {
            form(
                &url,
                &[
                    ("token", &t),
                    ("client_assertion_type", JWT_BEARER),
                    ("client_assertion", &a),
                ],
            )
            .await
        }
    };
    let (status, body) = ask(assertion(&url), own.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["active"],
        true
    );
    let token_endpoint = format!("{}/auth/token", app.base);
    let (status, body) = ask(assertion(&token_endpoint), token.clone()).await;
    assert_eq!((status, body.as_str()), (200, INACTIVE));
    // A replayed assertion is refused here too.
    let once = assertion(&url);
    assert_eq!(ask(once.clone(), own.clone()).await.0, 200);
    assert_eq!(ask(once, own.clone()).await.0, 400);
    // Assertion addressed elsewhere.
    assert_eq!(ask(assertion(&app.base), own).await.0, 400);

    // A confidential app by HTTP Basic: its own token only; a wrong secret
    // is refused with a Basic challenge (RFC 6749 5.2).
    clients::insert(
        &mut app.conn(),
        "default",
        &ClientRow {
            client_id: "portal".into(),
            name: "portal".into(),
            kind: "confidential".into(),
            secret_hash: Some(fhirgate::auth::password::hash("s3cret-portal").unwrap()),
            redirect_uris: vec!["https://portal.example/cb".into()],
            jwks: None,
            scopes: "user/*.rs".into(),
            disabled: false,
        },
    )
    .unwrap();
    let (portal_token, _) = app
        .authority
        .issue(TokenSpec {
            sub: "user:doc".into(),
            client_id: "portal".into(),
            scope: "user/Patient.rs".into(),
            username: Some("doc".into()),
            ..Default::default()
        })
        .unwrap();
    let basic = |secret: &'static str, t: String| {
        let url = url.clone();
        async move {
            let r = plain()
                .post(&url)
                .basic_auth("portal", Some(secret))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(serde_urlencoded::to_string([("token", t.as_str())]).unwrap())
                .send()
                .await
                .unwrap();
            let challenge = r
                .headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap().to_owned());
            (r.status().as_u16(), r.text().await.unwrap(), challenge)
        }
    };
    let (status, body, _) = basic("s3cret-portal", portal_token.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["client_id"],
        "portal"
    );
    let (status, body, _) = basic("s3cret-portal", token.clone()).await;
    assert_eq!((status, body.as_str()), (200, INACTIVE));
    let (status, _, challenge) = basic("wrong", portal_token).await;
    assert_eq!(status, 401);
    assert!(challenge.unwrap().starts_with("Basic"));

    // The refused calls were audited (outcome 4): nobody, the public client,
    // the bad and the insufficient bearer, the replay, the mis-addressed, the
    // wrong secret.
    let audited = crate::smart_keys::audited;
    assert_eq!(audited(&app, "subtype=operation&outcome=4", 7).await, 7);
}
