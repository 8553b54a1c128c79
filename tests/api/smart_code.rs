//! The authorization code flow of SMART App Launch 2.0.0
//! (app-launch.html#obtain-authorization-code, #obtain-access-token) driven
//! as a browser and an app would: standalone launches with the patient
//! picker (a practitioner) and without it (a patient user), the id_token
//! checked against the JWKS, and what a role allows whatever the app asks.

use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};

use crate::helpers::spawn_app;
use crate::smart_support::*;

/// Verifies an id_token with the published JWKS (OIDC Core 3.1.3.7).
async fn verify_id_token(app: &crate::helpers::TestApp, id_token: &str, client_id: &str) -> Value {
    let jwks: Value = reqwest::Client::new()
        .get(format!("{}/auth/jwks", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let conf: Value = reqwest::Client::new()
        .get(format!("{}/.well-known/smart-configuration", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    let kid = header.kid.unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("the id_token's key is published");
    let key =
        DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap())
            .unwrap();
    let mut v = Validation::new(Algorithm::RS256);
    v.set_audience(&[client_id]);
    v.set_issuer(&[conf["issuer"].as_str().unwrap()]);
    decode::<Value>(id_token, &key, &v).unwrap().claims
}

#[tokio::test]
async fn smart_practitioner_picks_a_patient_and_gets_an_id_token() {
    let app = spawn_app().await;
    let pid = patient(&app, "Zed<b>").await;
    let other = patient(&app, "Other").await;
    let (prid, _) = app
        .create(&json!({"resourceType": "Practitioner", "name": [{"family": "House"}]}))
        .await;
    add_user(&app, "doc", "doctor", Some(&format!("Practitioner/{prid}")));
    add_client(
        &app,
        "app1",
        false,
        "launch launch/patient openid fhirUser offline_access patient/*.rs user/*.cruds",
    );
    let mut req = AuthRequest::new(
        "app1",
        "launch/patient openid fhirUser patient/Patient.rs patient/Observation.rs",
    );
    req.extra.push(("nonce".into(), "n-0S6_WzA2Mj".into()));
    let mut b = Browser::new(&app);
    let login = b.get(&req.url(&app.base)).await;
    assert_eq!(login.status, 200, "{}", login.body);
    let picker = b.login(&login, "doc", PASSWORD).await;
    assert!(picker.body.contains("Choose a patient"), "{}", picker.body);
    // Names are escaped, never markup.
    assert!(picker.body.contains("Ada Zed&lt;b&gt;"), "{}", picker.body);
    assert!(!picker.body.contains("Zed<b>"));
    // A search narrows the list.
    let flow = flow_of(&picker.body);
    let searched = b
        .post(
            "picker",
            &[("flow", &flow), ("action", "search"), ("q", "Other")],
        )
        .await;
    assert!(searched.body.contains(&other) && !searched.body.contains(&pid));
    let consent = b
        .post(
            "picker",
            &[("flow", &flow), ("action", "select"), ("patient", &pid)],
        )
        .await;
    let done = b.allow(&consent, &[]).await;
    let code = b.code_of(&done, &req);
    let (status, t) = exchange(&app, &req, &code).await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["token_type"], "Bearer");
    assert!(t["expires_in"].as_u64().unwrap() > 0);
    assert_eq!(t["patient"], pid.as_str());
    assert_eq!(t["need_patient_banner"], true);
    assert!(t.get("refresh_token").is_none(), "no offline_access asked");
    let scope = t["scope"].as_str().unwrap();
    for s in [
        "launch/patient",
        "openid",
        "fhirUser",
        "patient/Patient.rs",
        "patient/Observation.rs",
    ] {
        assert!(scope.split(' ').any(|x| x == s), "{s} in {scope}");
    }
    let id = verify_id_token(&app, t["id_token"].as_str().unwrap(), "app1").await;
    assert_eq!(id["fhirUser"], format!("{}/Practitioner/{prid}", app.base));
    assert_eq!(id["nonce"], "n-0S6_WzA2Mj");
    assert!(id["sub"].is_string() && id["exp"].is_i64() && id["iat"].is_i64());
    // The token reaches the chosen patient's compartment only.
    let access = t["access_token"].as_str().unwrap();
    assert_eq!(
        fhir_status(&app, &format!("Patient/{pid}"), access).await,
        200
    );
    assert_eq!(
        fhir_status(&app, &format!("Patient/{other}"), access).await,
        403
    );
}

#[tokio::test]
async fn smart_patient_user_gets_their_own_patient_without_a_picker() {
    let app = spawn_app().await;
    let pid = patient(&app, "Self").await;
    add_user(&app, "pat", "patient", Some(&format!("Patient/{pid}")));
    add_client(
        &app,
        "papp",
        false,
        "launch/patient openid fhirUser patient/*.rs",
    );
    let req = AuthRequest::new(
        "papp",
        "launch/patient openid fhirUser patient/*.rs user/*.rs",
    );
    let mut b = Browser::new(&app);
    let login = b.get(&req.url(&app.base)).await;
    let consent = b.login(&login, "pat", PASSWORD).await;
    assert!(
        consent.body.contains("Allow access?"),
        "no picker: {}",
        consent.body
    );
    // The patient in context, by name.
    assert!(
        consent.body.contains("Ada Self, born 1970-01-02"),
        "{}",
        consent.body
    );
    let done = b.allow(&consent, &[]).await;
    let code = b.code_of(&done, &req);
    let (status, t) = exchange(&app, &req, &code).await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["patient"], pid.as_str());
    // user/*.rs is beyond the patient role: not granted.
    assert!(!t["scope"].as_str().unwrap().contains("user/"), "{t}");
    let id = verify_id_token(&app, t["id_token"].as_str().unwrap(), "papp").await;
    assert_eq!(id["fhirUser"], format!("{}/Patient/{pid}", app.base));
}

#[tokio::test]
async fn smart_nurse_asking_for_everything_gets_her_role() {
    let app = spawn_app().await;
    let pid = patient(&app, "Ward").await;
    add_user(&app, "nurse", "nurse", None);
    add_client(&app, "napp", false, "user/*.cruds openid fhirUser");
    let req = AuthRequest::new("napp", "user/*.cruds openid fhirUser");
    let mut b = Browser::new(&app);
    let done = b.authorize(&req, "nurse", None).await;
    let code = b.code_of(&done, &req);
    let (status, t) = exchange(&app, &req, &code).await;
    assert_eq!(status, 200, "{t}");
    let granted = fhirgate::auth::scopes::Scopes::parse(t["scope"].as_str().unwrap());
    let ceiling = fhirgate::auth::scopes::Scopes::parse(
        fhirgate::config::auth::DEFAULT_ROLES
            .iter()
            .find(|(r, _)| *r == "nurse")
            .unwrap()
            .1,
    );
    let resources = fhirgate::auth::scopes::Scopes(
        granted
            .resource_scopes()
            .cloned()
            .map(fhirgate::auth::scopes::Scope::Resource)
            .collect(),
    );
    assert!(
        resources.within(&ceiling),
        "{} beyond the nurse role",
        t["scope"]
    );
    // No fhirUser for a user without a FHIR resource.
    assert!(!t["scope"].as_str().unwrap().contains("fhirUser"));
    let access = t["access_token"].as_str().unwrap();
    let http = reqwest::Client::new();
    let del = http
        .delete(format!("{}/Patient/{pid}", app.base))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 403, "a nurse may not delete");
    let obs = http
        .post(format!("{}/Observation", app.base))
        .bearer_auth(access)
        .header("content-type", "application/fhir+json")
        .body(
            json!({"resourceType": "Observation", "status": "final", "code": {"text": "pulse"},
                   "subject": {"reference": format!("Patient/{pid}")}})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(obs.status(), 201, "a nurse may record an Observation");
}

#[tokio::test]
async fn smart_code_is_single_use_and_a_replay_revokes_its_tokens() {
    let app = spawn_app().await;
    let pid = patient(&app, "Replay").await;
    add_user(&app, "doc", "doctor", None);
    add_client(&app, "rapp", false, "user/Patient.rs");
    let req = AuthRequest::new("rapp", "user/Patient.rs");
    let mut b = Browser::new(&app);
    let done = b.authorize(&req, "doc", None).await;
    let code = b.code_of(&done, &req);
    let (status, t) = exchange(&app, &req, &code).await;
    assert_eq!(status, 200, "{t}");
    let access = t["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        fhir_status(&app, &format!("Patient/{pid}"), &access).await,
        200
    );
    let (again, e) = exchange(&app, &req, &code).await;
    assert_eq!(again, 400);
    assert_eq!(e["error"], "invalid_grant");
    assert_eq!(
        fhir_status(&app, &format!("Patient/{pid}"), &access).await,
        401,
        "the token issued from a replayed code is revoked"
    );
}

/// A code for `req`, from the doctor's consent.
async fn issued(b: &mut Browser, req: AuthRequest) -> (AuthRequest, String) {
    let done = b.authorize(&req, "doc", None).await;
    let code = b.code_of(&done, &req);
    (req, code)
}

#[tokio::test]
async fn smart_token_request_must_match_the_authorization() {
    let app = spawn_app().await;
    add_user(&app, "doc", "doctor", None);
    add_client(&app, "mapp", false, "user/Patient.rs");
    add_client(&app, "other", false, "user/Patient.rs");
    let mut b = Browser::new(&app);
    // RFC 7636 4.6: a wrong verifier.
    let (req, code) = issued(&mut b, AuthRequest::new("mapp", "user/Patient.rs")).await;
    let (_, wrong) = crate::smart_support::pkce();
    let fields = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", wrong.as_str()),
        ("client_id", "mapp"),
    ];
    let (s, e) = token(&app, &fields, None).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "{e}"
    );
    // No verifier at all.
    let (req2, code) = issued(&mut b, AuthRequest::new("mapp", "user/Patient.rs")).await;
    let fields = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("client_id", "mapp"),
    ];
    let (s, _) = token(&app, &fields, None).await;
    assert_eq!(s, 400);
    let _ = (req, req2);
    // RFC 6749 4.1.3: redirect_uri identical to the authorization request's.
    let (req, code) = issued(&mut b, AuthRequest::new("mapp", "user/Patient.rs")).await;
    let fields = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", "http://127.0.0.1:9/elsewhere"),
        ("code_verifier", req.verifier.as_str()),
        ("client_id", "mapp"),
    ];
    let (s, e) = token(&app, &fields, None).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "{e}"
    );
    // A code is for the client it was issued to.
    let (req, code) = issued(&mut b, AuthRequest::new("mapp", "user/Patient.rs")).await;
    let fields = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", req.verifier.as_str()),
        ("client_id", "other"),
    ];
    let (s, e) = token(&app, &fields, None).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "{e}"
    );
}

#[tokio::test]
async fn smart_confidential_client_authenticates_with_its_secret() {
    let app = spawn_app().await;
    add_user(&app, "doc", "doctor", None);
    let secret = add_client(&app, "conf", true, "user/Patient.rs").unwrap();
    let mut b = Browser::new(&app);
    let req = AuthRequest::new("conf", "user/Patient.rs");
    let done = b.authorize(&req, "doc", None).await;
    let code = b.code_of(&done, &req);
    let fields = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", req.verifier.as_str()),
    ];
    // As a public client (client_id alone): refused.
    let mut public = fields.to_vec();
    public.push(("client_id", "conf"));
    let (s, e) = token(&app, &public, None).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid_client")),
        "{e}"
    );
    // Client authentication comes before the code is spent: with HTTP
    // Basic the same code is exchanged.
    let (s, t) = token(&app, &fields, Some(("conf", &secret))).await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(t["scope"], "user/Patient.rs");
}
