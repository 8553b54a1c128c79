//! /healthz, /readyz and /metrics carry no patient data and stay
//! unauthenticated (issue #17), served with the API or, with `--ops-addr`, on
//! an address of their own and not on the API's.

use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn operations_endpoints_need_no_token() {
    let app = spawn_app().await;
    let plain = reqwest::Client::new();
    for path in ["/healthz", "/readyz", "/metrics"] {
        let r = plain.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
    // The FHIR API does need one.
    let r = plain.get(app.url("Patient")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("www-authenticate").is_some());
}

#[tokio::test]
async fn operations_endpoints_move_to_their_own_address() {
    let app = spawn_app_with(|s| s.ops_addr = Some("127.0.0.1:0".parse().unwrap())).await;
    let ops = format!("http://127.0.0.1:{}", app.ops_port.unwrap());
    let plain = reqwest::Client::new();
    for path in ["/healthz", "/readyz", "/metrics"] {
        let r = plain.get(format!("{ops}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path} on the ops address");
        let r = app.get(path).await;
        assert_eq!(r.status(), 404, "{path} is no longer on the API's address");
    }
    // And the API is not on the ops address.
    let r = app
        .client
        .get(format!("{ops}/fhir/metadata"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}
