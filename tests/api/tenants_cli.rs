//! `fhirgate tenants` and `--tenant`, as an operator runs them (the real
//! binary) against a running gateway's database (issue #18: "the README
//! shows how to add a clinic").

use std::io::Write;
use std::process::{Command, Output, Stdio};

use diesel::{QueryableByName, RunQueryDsl};

use crate::helpers::{assert_outcome, bearer_headers, spawn_app, TestApp};

fn fhirgate(app: &TestApp, args: &[&str], stdin: Option<&str>) -> Output {
    let port = app
        .base
        .trim_end_matches("/fhir")
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fhirgate"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env("FHIRGATE_DATABASE_URL", &app.db_url)
        .env("FHIRGATE_MASTER_KEY", &app.master_key_hex)
        .env("FHIRGATE_DATA_DIR", std::env::temp_dir())
        .env("FHIRGATE_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_adds_a_clinic_gives_it_a_user_and_a_token_and_disables_it() {
    let app = spawn_app().await;
    let added = ok(&fhirgate(
        &app,
        &["tenants", "add", "clinic-x", "--name", "Clinic X"],
        None,
    ));
    let base = format!("{}/t/clinic-x/fhir", app.base.trim_end_matches("/fhir"));
    assert!(added.contains(&base), "{added}");
    let listed = ok(&fhirgate(&app, &["tenants", "list"], None));
    assert!(
        listed.contains("clinic-x") && listed.contains("Clinic X"),
        "{listed}"
    );
    assert!(!listed.contains("_server"), "{listed}");

    // Refused: the same slug again, a slug that is not one, the default tenant.
    assert!(!fhirgate(&app, &["tenants", "add", "clinic-x"], None)
        .status
        .success());
    assert!(!fhirgate(&app, &["tenants", "add", "Clinic_Y"], None)
        .status
        .success());
    assert!(!fhirgate(&app, &["tenants", "disable", "default"], None)
        .status
        .success());
    // A command for a clinic that does not exist.
    assert!(!fhirgate(
        &app,
        &["token", "--tenant", "nowhere", "--scope", "system/*.rs"],
        None
    )
    .status
    .success());

    // Users are per clinic.
    ok(&fhirgate(
        &app,
        &[
            "users", "add", "--tenant", "clinic-x", "drx", "--role", "doctor",
        ],
        Some("a long enough password\n"),
    ));
    assert!(ok(&fhirgate(
        &app,
        &["users", "list", "--tenant", "clinic-x"],
        None
    ))
    .contains("drx"));
    assert!(!ok(&fhirgate(&app, &["users", "list"], None)).contains("drx"));

    // The clinic's token works at its base (the running gateway serves the
    // new clinic without a restart), and not at the default base.
    let token = ok(&fhirgate(
        &app,
        &["token", "--tenant", "clinic-x", "--scope", "system/*.cruds"],
        None,
    ));
    let client = reqwest::Client::builder()
        .default_headers(bearer_headers(token.trim()))
        .build()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let resp = client.get(format!("{base}/Patient")).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    assert_eq!(
        client
            .get(format!("{}/Patient", app.base))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    ok(&fhirgate(&app, &["tenants", "disable", "clinic-x"], None));
    app.tenancy.refresh().await.unwrap();
    assert_outcome(
        client.get(format!("{base}/Patient")).send().await.unwrap(),
        404,
    )
    .await;
    ok(&fhirgate(&app, &["tenants", "enable", "clinic-x"], None));
    app.tenancy.refresh().await.unwrap();
    assert_eq!(
        client
            .get(format!("{base}/Patient"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Every change is in the server-level audit trail, none in a clinic's.
    let mut conn = app.conn();
    let n = diesel::sql_query("SELECT count(*) AS n FROM audit_events WHERE tenant_id = '_server'")
        .load::<Count>(&mut conn)
        .unwrap()[0]
        .n;
    assert_eq!(n, 3, "add, disable, enable");
}
