//! `fhirgate keys rotate` run twice at once (issue #15): the rotations are
//! serialised by an advisory lock, and the one that finds it taken exits
//! non-zero saying so, instead of failing on a raw unique violation.

use diesel::RunQueryDsl;

use crate::helpers::*;

fn rotate(app: &TestApp) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_fhirgate"));
    cmd.args(["keys", "rotate"])
        .env("FHIRGATE_DATABASE_URL", &app.db_url)
        .env("FHIRGATE_MASTER_KEY", &app.master_key_hex)
        .env("FHIRGATE_DATA_DIR", std::env::temp_dir())
        .env("FHIRGATE_LOG", "error")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    cmd
}

fn data_keys(app: &TestApp) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query("SELECT count(*) AS n FROM data_keys WHERE purpose = 'data'")
        .get_result::<N>(&mut app.conn())
        .unwrap()
        .n
}

/// While a rotation holds the lock (here: the test, on its own connection),
/// another exits non-zero with a clear message and creates no key.
#[tokio::test]
async fn a_rotation_while_another_runs_exits_with_a_clear_message() {
    let app = spawn_app().await;
    app.create(&patient("Rotate", "RL-1")).await;
    let before = data_keys(&app);
    let mut holder = app.conn();
    diesel::sql_query(format!(
        "SELECT pg_advisory_lock({})",
        fhirgate::keys_cmd::ROTATION_LOCK
    ))
    .execute(&mut holder)
    .unwrap();
    let out = rotate(&app).output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("another key rotation is running"),
        "{stderr}"
    );
    assert_eq!(data_keys(&app), before, "no key was made");
    drop(holder);
}

/// Two started together: one rotates; the other either finds the lock taken
/// (and says so) or runs after it. Neither fails any other way.
#[tokio::test]
async fn two_rotations_at_once_are_serialised() {
    let app = spawn_app().await;
    app.create(&patient("Rotate", "RL-2")).await;
    let before = data_keys(&app);
    let (a, b) = tokio::join!(rotate(&app).output(), rotate(&app).output());
    let (a, b) = (a.unwrap(), b.unwrap());
    let mut succeeded = 0;
    for out in [&a, &b] {
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            succeeded += 1;
        } else {
            assert!(
                stderr.contains("another key rotation is running"),
                "{stderr}"
            );
        }
    }
    assert!(succeeded >= 1);
    assert_eq!(data_keys(&app), before + succeeded);
    // Whatever the order, every version is readable under the active key.
    let found = app.get_value("Patient?identifier=RL-2").await;
    assert_eq!(found["total"], 1, "{found}");
}
