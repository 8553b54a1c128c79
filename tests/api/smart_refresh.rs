//! Refresh tokens (app-launch.html#refresh-access-token; RFC 6749 section
//! 6): only with `offline_access`/`online_access`, bound to their client,
//! rotated on use, a reused one revoking the grant, never widening scopes.

use serde_json::Value;

use crate::helpers::{spawn_app, TestApp};
use crate::smart_support::*;

/// A token response for `scope` from a doctor's authorization.
async fn tokens_for(app: &TestApp, client: &str, scope: &str) -> Value {
    let req = AuthRequest::new(client, scope);
    let mut b = Browser::new(app);
    let done = b.authorize(&req, "doc", None).await;
    let code = b.code_of(&done, &req);
    let (status, t) = exchange(app, &req, &code).await;
    assert_eq!(status, 200, "{t}");
    t
}

async fn refresh(app: &TestApp, client: &str, rt: &str, scope: Option<&str>) -> (u16, Value) {
    let mut fields = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", rt),
        ("client_id", client),
    ];
    if let Some(s) = scope {
        fields.push(("scope", s));
    }
    token(app, &fields, None).await
}

async fn setup() -> (TestApp, String) {
    let app = spawn_app().await;
    let pid = patient(&app, "Refresh").await;
    add_user(&app, "doc", "doctor", None);
    add_client(
        &app,
        "rapp",
        false,
        "offline_access online_access user/Patient.rs user/Observation.rs",
    );
    add_client(&app, "thief", false, "offline_access user/Patient.rs");
    (app, pid)
}

#[tokio::test]
async fn smart_refresh_rotates_and_a_reused_token_revokes_the_grant() {
    let (app, pid) = setup().await;
    let t = tokens_for(&app, "rapp", "offline_access user/Patient.rs").await;
    let rt1 = t["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned();
    let (s, t2) = refresh(&app, "rapp", &rt1, None).await;
    assert_eq!(s, 200, "{t2}");
    assert_eq!(t2["scope"], t["scope"]);
    let rt2 = t2["refresh_token"]
        .as_str()
        .expect("a new refresh token")
        .to_owned();
    assert_ne!(rt1, rt2, "rotated");
    let access2 = t2["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        fhir_status(&app, &format!("Patient/{pid}"), &access2).await,
        200
    );
    // The spent one again: refused, and the whole grant is revoked.
    let (s, e) = refresh(&app, "rapp", &rt1, None).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "{e}"
    );
    assert_eq!(
        fhir_status(&app, &format!("Patient/{pid}"), &access2).await,
        401
    );
    let (s, e) = refresh(&app, "rapp", &rt2, None).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "{e}"
    );
}

#[tokio::test]
async fn smart_refresh_never_widens_and_stays_with_its_client() {
    let (app, _) = setup().await;
    let t = tokens_for(&app, "rapp", "offline_access user/Patient.rs").await;
    let rt = t["refresh_token"].as_str().unwrap().to_owned();
    // RFC 6749 6: a scope not originally granted is refused.
    let (s, e) = refresh(
        &app,
        "rapp",
        &rt,
        Some("offline_access user/Patient.rs user/Observation.rs"),
    )
    .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid_scope")),
        "{e}"
    );
    // The refused request issued no new token, so it did not spend this one
    // (RFC 6749 6 revokes the old one "after issuing a new refresh token").
    let (s, t1) = refresh(&app, "rapp", &rt, None).await;
    assert_eq!(s, 200, "{t1}");
    let t = tokens_for(&app, "rapp", "offline_access user/Patient.rs").await;
    let rt = t["refresh_token"].as_str().unwrap().to_owned();
    let (s, e) = refresh(&app, "rapp", &rt, Some("user/Patient.cruds")).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid_scope")),
        "{e}"
    );
    // A narrower one is granted.
    let t = tokens_for(&app, "rapp", "offline_access user/Patient.rs").await;
    let rt = t["refresh_token"].as_str().unwrap().to_owned();
    let (s, t2) = refresh(&app, "rapp", &rt, Some("user/Patient.r")).await;
    assert_eq!(s, 200, "{t2}");
    assert_eq!(t2["scope"], "user/Patient.r");
    // The new refresh token keeps the original scope (RFC 6749 6).
    let rt2 = t2["refresh_token"].as_str().unwrap().to_owned();
    let (s, t3) = refresh(&app, "rapp", &rt2, None).await;
    assert_eq!(s, 200, "{t3}");
    assert_eq!(t3["scope"], t["scope"]);
    // Another client cannot use it.
    let rt3 = t3["refresh_token"].as_str().unwrap().to_owned();
    let (s, e) = refresh(&app, "thief", &rt3, None).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "{e}"
    );
}

#[tokio::test]
async fn smart_no_refresh_token_without_offline_or_online_access() {
    let (app, _) = setup().await;
    let t = tokens_for(&app, "rapp", "user/Patient.rs").await;
    assert!(t.get("refresh_token").is_none(), "{t}");
    let t = tokens_for(&app, "rapp", "online_access user/Patient.rs").await;
    assert!(t["refresh_token"].is_string(), "{t}");
    let (s, e) = refresh(&app, "rapp", "not-a-token", None).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "{e}"
    );
}
