//! The EHR launch (app-launch.html#launch-app-ehr-launch): an EHR obtains an
//! opaque launch id bound to a patient (and an encounter) with
//! `POST [base]/$smart-launch`, the app passes it back with the `launch`
//! scope, and its token carries that context, no picker shown.

use serde_json::Value;

use crate::helpers::{spawn_app, system_token};
use crate::smart_support::*;

async fn smart_launch(
    app: &crate::helpers::TestApp,
    token: Option<&str>,
    body: &str,
) -> reqwest::Response {
    let mut r = reqwest::Client::new()
        .post(format!("{}/$smart-launch", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned());
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    r.send().await.unwrap()
}

#[tokio::test]
async fn smart_ehr_launch_carries_patient_and_encounter() {
    let app = spawn_app().await;
    let pid = patient(&app, "Launched").await;
    add_user(&app, "doc", "doctor", None);
    add_client(
        &app,
        "ehrapp",
        false,
        "launch openid patient/*.rs user/*.rs",
    );
    let ehr = system_token(&app.authority, "system/Patient.rs");
    let resp = smart_launch(&app, Some(&ehr), &format!("patient={pid}&encounter=enc-1")).await;
    assert_eq!(resp.status(), 200);
    let launch: Value = resp.json().await.unwrap();
    let launch = launch["launch"].as_str().unwrap().to_owned();
    let mut req = AuthRequest::new("ehrapp", "launch openid patient/Patient.rs");
    req.extra.push(("launch".into(), launch));
    let mut b = Browser::new(&app);
    let login = b.get(&req.url(&app.base)).await;
    let consent = b.login(&login, "doc", PASSWORD).await;
    assert!(
        consent.body.contains("Allow access?"),
        "no picker: {}",
        consent.body
    );
    let done = b.allow(&consent, &[]).await;
    let code = b.code_of(&done, &req);
    let (status, t) = exchange(&app, &req, &code).await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["patient"], pid.as_str());
    assert_eq!(t["encounter"], "enc-1");
    assert_eq!(t["need_patient_banner"], true);
    assert!(t["scope"]
        .as_str()
        .unwrap()
        .split(' ')
        .any(|s| s == "launch"));
    let access = t["access_token"].as_str().unwrap();
    assert_eq!(
        fhir_status(&app, &format!("Patient/{pid}"), access).await,
        200
    );
}

#[tokio::test]
async fn smart_launch_needs_a_token_that_may_read_the_patient() {
    let app = spawn_app().await;
    let pid = patient(&app, "Guarded").await;
    let resp = smart_launch(&app, None, &format!("patient={pid}")).await;
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().contains_key("www-authenticate"));
    // A patient/ scope does not let an EHR launch apps.
    let patient_token = app
        .authority
        .issue(fhirgate::auth::TokenSpec {
            sub: "x".into(),
            client_id: "x".into(),
            scope: "patient/Patient.rs".into(),
            patient: Some(pid.clone()),
            ..Default::default()
        })
        .unwrap()
        .0;
    let resp = smart_launch(&app, Some(&patient_token), &format!("patient={pid}")).await;
    assert_eq!(resp.status(), 403);
    // One that may read Observations only.
    let obs = system_token(&app.authority, "system/Observation.rs");
    assert_eq!(
        smart_launch(&app, Some(&obs), &format!("patient={pid}"))
            .await
            .status(),
        403
    );
    // A patient that does not exist.
    let ehr = system_token(&app.authority, "system/Patient.rs");
    assert_eq!(
        smart_launch(&app, Some(&ehr), "patient=nosuch")
            .await
            .status(),
        403
    );
    assert_eq!(smart_launch(&app, Some(&ehr), "").await.status(), 400);
    // JSON works too.
    let resp = reqwest::Client::new()
        .post(format!("{}/$smart-launch", app.base))
        .bearer_auth(&ehr)
        .json(&serde_json::json!({"patient": pid}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn smart_launch_id_must_be_known_and_patient_users_keep_their_own() {
    let app = spawn_app().await;
    let mine = patient(&app, "Mine").await;
    let theirs = patient(&app, "Theirs").await;
    add_user(&app, "pat", "patient", Some(&format!("Patient/{mine}")));
    add_client(&app, "lapp", false, "launch patient/*.rs");
    // An unknown launch goes back to the app as invalid_request.
    let mut req = AuthRequest::new("lapp", "launch patient/*.rs");
    req.extra.push(("launch".into(), "no-such-launch".into()));
    let mut b = Browser::new(&app);
    let r = b.get(&req.url(&app.base)).await;
    assert_eq!(r.status, 302);
    let q = query_of(&r.location().unwrap());
    assert_eq!(param(&q, "error").as_deref(), Some("invalid_request"));
    assert_eq!(param(&q, "state").as_deref(), Some(req.state.as_str()));
    // A patient user launched for someone else is refused.
    let ehr = system_token(&app.authority, "system/Patient.rs");
    let launch: Value = smart_launch(&app, Some(&ehr), &format!("patient={theirs}"))
        .await
        .json()
        .await
        .unwrap();
    let mut req = AuthRequest::new("lapp", "launch patient/*.rs");
    req.extra
        .push(("launch".into(), launch["launch"].as_str().unwrap().into()));
    let login = b.get(&req.url(&app.base)).await;
    let r = b.login(&login, "pat", PASSWORD).await;
    assert_eq!(r.status, 303);
    let q = query_of(&r.location().unwrap());
    assert_eq!(param(&q, "error").as_deref(), Some("access_denied"));
}

#[tokio::test]
async fn smart_launch_from_the_command_line() {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        launch_id: String,
    }
    let app = spawn_app().await;
    let pid = patient(&app, "Cli").await;
    add_user(&app, "doc", "doctor", None);
    add_client(&app, "capp", false, "launch patient/*.rs");
    let key_file = std::env::temp_dir().join(format!("fhirgate-test-{}.key", uuid::Uuid::new_v4()));
    std::fs::write(&key_file, &app.master_key_hex).unwrap();
    let mut settings = crate::helpers::test_settings(&app.db_url);
    settings.master_key_file = Some(key_file.clone());
    // `fhirgate launch --patient ID --encounter enc-9` (it prints the id).
    fhirgate::auth_cmd::launch(
        settings,
        fhirgate::auth_cmd::LaunchArgs {
            patient: pid.clone(),
            encounter: Some("enc-9".into()),
        },
    )
    .await
    .unwrap();
    std::fs::remove_file(&key_file).unwrap();
    let rows: Vec<Row> =
        diesel::sql_query("SELECT launch_id FROM auth_launches WHERE created_by = 'fhirgate-cli'")
            .load(&mut app.conn())
            .unwrap();
    assert_eq!(rows.len(), 1);
    let mut req = AuthRequest::new("capp", "launch patient/Patient.rs");
    req.extra.push(("launch".into(), rows[0].launch_id.clone()));
    let mut b = Browser::new(&app);
    let done = b.authorize(&req, "doc", None).await;
    let code = b.code_of(&done, &req);
    let (status, t) = exchange(&app, &req, &code).await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(
        (t["patient"].as_str(), t["encounter"].as_str()),
        (Some(pid.as_str()), Some("enc-9"))
    );
}
