//! A bearer token verified once is remembered, so later requests skip its
//! signature check (src/auth/verified.rs); what can change after that still
//! applies to every request: revocation, expiry (RFC 7519 section 4.1.4) and
//! the audience against the FHIR base the request reached (section 4.1.3;
//! SMART App Launch 2.0.0: `aud` is the FHIR server's base URL).

use std::time::Duration;

use fhirgate::auth::token::AccessClaims;
use fhirgate::auth::TokenSpec;
use reqwest::StatusCode;

use crate::helpers::{bearer_headers, spawn_app};

fn plain() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn search(base: &str, token: &str) -> StatusCode {
    plain()
        .get(format!("{base}/Patient?_count=1"))
        .headers(bearer_headers(token))
        .send()
        .await
        .unwrap()
        .status()
}

fn claims(issuer: &str, aud: &str, exp: i64) -> AccessClaims {
    AccessClaims {
        iss: issuer.to_owned(),
        sub: "svc".into(),
        aud: aud.to_owned(),
        exp,
        iat: exp - 300,
        jti: uuid::Uuid::new_v4().simple().to_string(),
        scope: "system/*.rs".into(),
        client_id: "svc".into(),
        tenant: "default".into(),
        patient: None,
        encounter: None,
        fhir_user: None,
        username: None,
        grant: None,
    }
}

#[tokio::test]
async fn verified_token_revoked_afterwards_is_refused() {
    let app = spawn_app().await;
    let (token, c) = app
        .authority
        .issue(TokenSpec {
            sub: "svc".into(),
            client_id: "svc".into(),
            scope: "system/*.rs".into(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(search(&app.base, &token).await, StatusCode::OK);
    assert_eq!(search(&app.base, &token).await, StatusCode::OK);
    app.authority.revoke("jti", c.jti).await.unwrap();
    assert_eq!(search(&app.base, &token).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn verified_token_is_refused_once_expired() {
    let app = spawn_app().await;
    // Valid only within the 30 s leeway for clock skew, for 4 more seconds.
    let exp = chrono::Utc::now().timestamp() - 26;
    let token = app
        .authority
        .sign_access(&claims(&app.authority.issuer, &app.authority.issuer, exp))
        .unwrap();
    assert_eq!(search(&app.base, &token).await, StatusCode::OK);
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(search(&app.base, &token).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn verified_token_still_needs_the_audience_of_each_request() {
    let app = spawn_app().await;
    // A token for the base as reached by the name localhost: valid there,
    // not at the base named by the IP address (nor is it the issuer).
    let localhost = app.base.replace("127.0.0.1", "localhost");
    assert_ne!(localhost, app.authority.issuer);
    let exp = chrono::Utc::now().timestamp() + 300;
    let token = app
        .authority
        .sign_access(&claims(&app.authority.issuer, &localhost, exp))
        .unwrap();
    assert_eq!(search(&localhost, &token).await, StatusCode::OK);
    assert_eq!(search(&app.base, &token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(search(&localhost, &token).await, StatusCode::OK);
}
