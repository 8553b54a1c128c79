//! Introspection (RFC 7662) and revocation (RFC 7009) of the tokens a real
//! authorization-code flow issues: the access token's answer carries the
//! launch context and the user; the refresh token is found by its digest and
//! stops being active once rotated; revoking a refresh token ends its grant,
//! so the access token issued with it gets 401 on the FHIR API.

use serde_json::Value;

use crate::helpers::{spawn_app, system_token, TestApp};
use crate::smart_support::*;

async fn introspect(app: &TestApp, token: &str) -> Value {
    let caller = system_token(&app.authority, "system/Patient.rs");
    let r = reqwest::Client::new()
        .post(format!("{}/auth/introspect", app.base))
        .bearer_auth(caller)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string([("token", token)]).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn revoke(app: &TestApp, client_id: &str, token: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{}/auth/revoke", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string([("token", token), ("client_id", client_id)]).unwrap())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn smart_flow_tokens_are_introspected_and_revoked() {
    let app = spawn_app().await;
    let pid = patient(&app, "Flow").await;
    add_user(&app, "doc", "doctor", Some("Practitioner/doc-1"));
    add_client(
        &app,
        "flowapp",
        false,
        "launch/patient openid fhirUser offline_access patient/Patient.rs",
    );
    let req = AuthRequest::new(
        "flowapp",
        "launch/patient openid fhirUser offline_access patient/Patient.rs",
    );
    let mut b = Browser::new(&app);
    let done = b.authorize(&req, "doc", Some(&pid)).await;
    let code = b.code_of(&done, &req);
    let (status, t) = exchange(&app, &req, &code).await;
    assert_eq!(status, 200, "{t}");
    let access = t["access_token"].as_str().unwrap().to_owned();
    let rt1 = t["refresh_token"].as_str().unwrap().to_owned();

    // token-introspection.html: scope, client_id, exp; the launch context as
    // in the token response; fhirUser.
    let v = introspect(&app, &access).await;
    assert_eq!(v["active"], true, "{v}");
    assert_eq!(v["client_id"], "flowapp");
    assert_eq!(v["scope"], t["scope"]);
    assert_eq!(v["patient"], pid.as_str());
    assert_eq!(v["username"], "doc");
    assert!(
        v["fhirUser"]
            .as_str()
            .unwrap()
            .ends_with("Practitioner/doc-1"),
        "{v}"
    );
    assert!(v["exp"].as_i64().unwrap() > chrono::Utc::now().timestamp());
    let v = introspect(&app, &rt1).await;
    assert_eq!(
        (v["active"].as_bool(), v["client_id"].as_str()),
        (Some(true), Some("flowapp")),
        "{v}"
    );
    assert_eq!(v["patient"], pid.as_str());

    // Rotated: the first refresh token is no longer active, the new one is.
    let (status, t2) = token(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt1),
            ("client_id", "flowapp"),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "{t2}");
    let rt2 = t2["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        introspect(&app, &rt1).await,
        serde_json::json!({"active": false})
    );
    assert_eq!(introspect(&app, &rt2).await["active"], true);

    // Revoking the refresh token ends the grant: both access tokens too.
    let access2 = t2["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        fhir_status(&app, &format!("Patient/{pid}"), &access2).await,
        200
    );
    assert_eq!(revoke(&app, "flowapp", &rt2).await, 200);
    for a in [&access, &access2] {
        assert_eq!(fhir_status(&app, &format!("Patient/{pid}"), a).await, 401);
        assert_eq!(
            introspect(&app, a).await,
            serde_json::json!({"active": false})
        );
    }
    assert_eq!(
        introspect(&app, &rt2).await,
        serde_json::json!({"active": false})
    );
    let (status, _) = token(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt2),
            ("client_id", "flowapp"),
        ],
        None,
    )
    .await;
    assert_eq!(status, 400);
}
