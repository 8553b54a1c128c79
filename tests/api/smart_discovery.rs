//! SMART App Launch 2.0.0 discovery (conformance.html#using-well-known), the
//! CapabilityStatement's deprecated but still read `rest.security`, and the
//! JWKS endpoint.

use serde_json::Value;

use crate::helpers::spawn_app;

async fn discovery(base: &str, accept: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{base}/.well-known/smart-configuration"))
        .header("accept", accept)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn smart_configuration_has_every_field_smart_requires() {
    let app = spawn_app().await;
    // No token, and an Accept the server may ignore: "servers SHALL respond
    // with application/json".
    let resp = discovery(&app.base, "text/html").await;
    assert_eq!(resp.status(), 200);
    let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("application/json"), "{ct}");
    assert!(resp.headers().contains_key("cache-control"));
    let d: Value = resp.json().await.unwrap();
    let base = &app.base;
    // REQUIRED, and CONDITIONAL on sso-openid-connect (which is claimed).
    assert_eq!(d["issuer"], app.authority.issuer.as_str());
    assert_eq!(d["jwks_uri"], format!("{base}/auth/jwks"));
    assert_eq!(
        d["authorization_endpoint"],
        format!("{base}/auth/authorize")
    );
    assert_eq!(d["token_endpoint"], format!("{base}/auth/token"));
    assert_eq!(
        d["introspection_endpoint"],
        format!("{base}/auth/introspect")
    );
    assert_eq!(d["revocation_endpoint"], format!("{base}/auth/revoke"));
    let list = |k: &str| -> Vec<String> {
        d[k].as_array()
            .unwrap_or_else(|| panic!("{k} is an array"))
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    assert!(list("grant_types_supported").contains(&"authorization_code".to_owned()));
    assert!(list("grant_types_supported").contains(&"client_credentials".to_owned()));
    // "The S256 method SHALL be included ... and the plain method SHALL NOT".
    assert_eq!(list("code_challenge_methods_supported"), vec!["S256"]);
    assert_eq!(list("response_types_supported"), vec!["code"]);
    let auth = list("token_endpoint_auth_methods_supported");
    assert!(auth.contains(&"client_secret_basic".to_owned()));
    assert!(auth.contains(&"private_key_jwt".to_owned()));
    let scopes = list("scopes_supported");
    for s in [
        "openid",
        "fhirUser",
        "launch",
        "launch/patient",
        "offline_access",
    ] {
        assert!(scopes.contains(&s.to_owned()), "{s}");
    }
    let caps = list("capabilities");
    // The four Capability Sets of conformance.html (clinician EHR launch less
    // nothing: context-ehr-encounter is claimed too).
    for c in [
        "launch-ehr",
        "launch-standalone",
        "client-public",
        "client-confidential-symmetric",
        "client-confidential-asymmetric",
        "context-ehr-patient",
        "context-ehr-encounter",
        "context-standalone-patient",
        "context-banner",
        "permission-patient",
        "permission-user",
        "permission-offline",
        "permission-online",
        "permission-v1",
        "permission-v2",
        "sso-openid-connect",
        "authorize-post",
    ] {
        assert!(
            caps.contains(&c.to_owned()),
            "capability {c} missing: {caps:?}"
        );
    }
    // Not configured: not claimed.
    assert!(!caps.contains(&"context-style".to_owned()));
}

#[tokio::test]
async fn smart_configuration_claims_context_style_only_when_configured() {
    let app = crate::helpers::spawn_app_with(|s| {
        s.auth.smart_style_url = Some("https://ehr.example/smart-style.json".into());
    })
    .await;
    let d: Value = discovery(&app.base, "application/json")
        .await
        .json()
        .await
        .unwrap();
    assert!(d["capabilities"]
        .as_array()
        .unwrap()
        .contains(&Value::from("context-style")));
}

#[tokio::test]
async fn smart_capability_statement_names_the_oauth_uris() {
    let app = spawn_app().await;
    // GET [base]/metadata needs no token.
    let cs: Value = reqwest::Client::new()
        .get(format!("{}/metadata", app.base))
        .header("accept", "application/fhir+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let d: Value = discovery(&app.base, "application/json")
        .await
        .json()
        .await
        .unwrap();
    let security = &cs["rest"][0]["security"];
    let coding = &security["service"][0]["coding"][0];
    assert_eq!(
        coding["system"],
        "http://terminology.hl7.org/CodeSystem/restful-security-service"
    );
    assert_eq!(coding["code"], "SMART-on-FHIR");
    let ext = security["extension"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| {
            e["url"] == "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
        })
        .expect("the oauth-uris extension");
    let uri = |name: &str| -> Value {
        ext["extension"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["url"] == name)
            .map(|e| e["valueUri"].clone())
            .unwrap_or(Value::Null)
    };
    // The same endpoints as the well-known document (oauth::paths).
    assert_eq!(uri("authorize"), d["authorization_endpoint"]);
    assert_eq!(uri("token"), d["token_endpoint"]);
    assert_eq!(uri("introspect"), d["introspection_endpoint"]);
    assert_eq!(uri("revoke"), d["revocation_endpoint"]);
    // And it still renders as XML (fhirbolt, strict).
    let xml = reqwest::Client::new()
        .get(format!("{}/metadata", app.base))
        .header("accept", "application/fhir+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(xml.status(), 200);
    assert!(xml.text().await.unwrap().contains("SMART-on-FHIR"));
}

#[tokio::test]
async fn smart_jwks_publishes_the_signing_keys_only() {
    let app = spawn_app().await;
    let resp = reqwest::Client::new()
        .get(format!("{}/auth/jwks", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let set: Value = resp.json().await.unwrap();
    let keys = set["keys"].as_array().unwrap();
    assert!(!keys.is_empty());
    for k in keys {
        assert_eq!(k["kty"], "RSA");
        assert_eq!(k["alg"], "RS256");
        assert!(k["kid"].is_string() && k["n"].is_string() && k["e"].is_string());
        // RFC 7518 6.3.2: private members must never be published.
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(k.get(private).is_none(), "{private} published");
        }
    }
}
