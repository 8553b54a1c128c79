//! No plaintext PHI at rest; append-only tables; key rotation.

use crate::helpers::*;
use diesel::RunQueryDsl;
use serde_json::{json, Value};

/// PHI strings loaded through the API must not appear anywhere in a pg_dump.
#[tokio::test]
async fn pg_dump_contains_no_plaintext_phi() {
    let app = spawn_app().await;
    let mut secrets: Vec<String> = vec![
        "Zyxqvorth".into(),
        "MRN-83920174".into(),
        "1961-07-19".into(),
        "+1 555 0199 8765".into(),
        "742 Evergreen Terrace".into(),
        "Quillonbeck".into(),
    ];
    let p = json!({
        "resourceType": "Patient",
        "identifier": [{"system": "urn:mrn", "value": "MRN-83920174"}],
        "name": [{"family": "Zyxqvorth", "given": ["Quillonbeck"]}],
        "birthDate": "1961-07-19",
        "telecom": [{"system": "phone", "value": "+1 555 0199 8765"}],
        "address": [{"line": ["742 Evergreen Terrace"], "city": "Springfield"}]
    });
    let (pid, _) = app.create(&p).await;
    // The shared example patients too.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/examples/fhir");
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if !name.starts_with("Patient-") {
            continue;
        }
        let v: Value = serde_json::from_str(&std::fs::read_to_string(e.path()).unwrap()).unwrap();
        app.create(&v).await;
        for n in v["name"].as_array().into_iter().flatten() {
            if let Some(f) = n["family"].as_str() {
                secrets.push(f.to_owned());
            }
        }
        for i in v["identifier"].as_array().into_iter().flatten() {
            if let Some(val) = i["value"].as_str().filter(|s| s.len() >= 5) {
                secrets.push(val.to_owned());
            }
        }
        if let Some(b) = v["birthDate"].as_str() {
            secrets.push(b.to_owned());
        }
        for t in v["telecom"].as_array().into_iter().flatten() {
            if let Some(val) = t["value"].as_str() {
                secrets.push(val.to_owned());
            }
        }
        for a in v["address"].as_array().into_iter().flatten() {
            for l in a["line"].as_array().into_iter().flatten() {
                secrets.push(l.as_str().unwrap().to_owned());
            }
        }
    }
    // Reads and searches (their AuditEvents carry the query) must not leak either.
    app.get(&format!("Patient/{pid}")).await;
    app.get("Patient?family=Zyxqvorth&birthdate=1961-07-19")
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    let dump = pg_dump(&app);
    assert!(
        dump.contains("COPY public.resource_versions"),
        "the dump is not of our schema"
    );
    assert!(dump.len() > 10_000);
    // bytea values dump as hex (\\x...), where a short digits-only value such as an
    // MRN turns up by chance in random ciphertext. So: plaintext must not appear in
    // the dump's text outside those hex runs, and no secret's own hex encoding may
    // appear inside them (PHI stored unencrypted in a bytea column).
    // Server-assigned ids are UUIDs, repeated in every index row; a short
    // hex-only value (an MRN such as "12345") turns up inside them by chance.
    let text = strip_uuids(&strip_hex_runs(&dump));
    // Control: non-PHI index values (gender codes) are in the clear, so the scan
    // does see plaintext columns.
    assert!(
        text.contains("\tfemale\t"),
        "the scan sees no plaintext at all"
    );
    for s in &secrets {
        assert!(
            !text.contains(s.as_str()),
            "plaintext PHI {s:?} found in pg_dump"
        );
        assert!(
            !dump.contains(&hex::encode(s.as_bytes())),
            "PHI {s:?} found hex-encoded in pg_dump"
        );
    }
    // Search over the blind indexes still finds the patient.
    let found = app
        .get_value("Patient?family=zyxq&birthdate=1961-07-19")
        .await;
    assert_eq!(found["total"], 1, "{found}");
}

#[tokio::test]
async fn history_and_audit_are_append_only_in_the_database() {
    let app = spawn_app().await;
    let (id, _) = app.create(&patient("Append", "AO-1")).await;
    let mut conn = app.conn();
    for sql in [
        "UPDATE audit_events SET recorded = now()".to_owned(),
        "DELETE FROM audit_events".to_owned(),
        "TRUNCATE audit_events".to_owned(),
        "DELETE FROM resource_versions".to_owned(),
        format!("UPDATE resource_versions SET method = 'PUT' WHERE id = '{id}'"),
        format!("UPDATE resource_versions SET version_id = 9 WHERE id = '{id}'"),
    ] {
        let r = diesel::sql_query(&sql).execute(&mut conn);
        assert!(r.is_err(), "the database allowed: {sql}");
    }
}

/// A ciphertext moved into another row fails to decrypt (AAD binds tenant, type,
/// id and version), so the server refuses rather than serving the wrong patient.
#[tokio::test]
async fn moved_ciphertext_does_not_decrypt() {
    let app = spawn_app().await;
    let (a, _) = app.create(&patient("Alpha", "MV-1")).await;
    let (b, _) = app.create(&patient("Bravo", "MV-2")).await;
    let mut conn = app.conn();
    diesel::sql_query(format!("UPDATE resource_versions SET body = (SELECT body FROM resource_versions WHERE id = '{a}') WHERE id = '{b}'"))
        .execute(&mut conn)
        .unwrap();
    let r = app.get(&format!("Patient/{b}")).await;
    assert_eq!(r.status(), 500);
    assert!(!r.text().await.unwrap().contains("Alpha"));
    assert_eq!(app.get(&format!("Patient/{a}")).await.status(), 200);
}

#[tokio::test]
async fn keys_rotate_reencrypts_while_reads_work() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for i in 0..30 {
        ids.push(app.create(&patient("Rotate", &format!("R-{i}"))).await.0);
    }
    let status = tokio::process::Command::new(env!("CARGO_BIN_EXE_fhirgate"))
        .args(["keys", "rotate", "--batch", "7"])
        .env("FHIRGATE_DATABASE_URL", &app.db_url)
        .env("FHIRGATE_MASTER_KEY", &app.master_key_hex)
        .env("FHIRGATE_DATA_DIR", std::env::temp_dir())
        .spawn()
        .unwrap();
    // Reads keep working during the rotation.
    let reader = async {
        for id in ids.iter().cycle().take(60) {
            assert_eq!(app.get(&format!("Patient/{id}")).await.status(), 200);
        }
    };
    let (out, ()) = tokio::join!(status.wait_with_output(), reader);
    assert!(out.unwrap().status.success());
    #[derive(diesel::QueryableByName)]
    struct K {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = app.conn();
    let distinct: K =
        diesel::sql_query("SELECT count(DISTINCT key_id) AS n FROM resource_versions")
            .get_result(&mut conn)
            .unwrap();
    assert_eq!(distinct.n, 1, "every version is under one (the new) key");
    let active: K = diesel::sql_query(
        "SELECT count(*) AS n FROM resource_versions v JOIN data_keys k ON k.tenant_id = v.tenant_id AND k.key_id = v.key_id WHERE k.active",
    )
    .get_result(&mut conn)
    .unwrap();
    assert_eq!(active.n, 30);
    for id in &ids {
        assert_eq!(app.get(&format!("Patient/{id}")).await.status(), 200);
    }
    // New writes use the new key too.
    app.create(&patient("Rotate", "R-new")).await;
}

/// The dump with every `\\x<hex>` bytea literal removed.
pub(crate) fn strip_hex_runs(dump: &str) -> String {
    let mut out = String::with_capacity(dump.len() / 2);
    let mut rest = dump;
    while let Some(pos) = rest.find("\\\\x") {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 3..];
        let hex_len = after
            .find(|c: char| !c.is_ascii_hexdigit())
            .unwrap_or(after.len());
        rest = &after[hex_len..];
    }
    out.push_str(rest);
    out
}

/// A gateway started with a master key other than the one that wrapped the
/// database's data keys refuses to start (rather than failing every request).
#[tokio::test]
async fn wrong_master_key_is_refused_at_start() {
    let app = spawn_app().await;
    app.create(&patient("Keyed", "K-1")).await;
    let settings = test_settings(&app.db_url);
    let db = fhirgate::store::Db::connect(&app.db_url, 2, None).unwrap();
    let other =
        fhirgate::crypto::MasterKey::from_bytes(fhirgate::crypto::KeyBytes::random().unwrap());
    let model = std::sync::Arc::new(fhirgate::fhir::FhirModel::load().unwrap());
    let err = fhirgate::startup::Application::build(&settings, db, model, other)
        .await
        .err()
        .expect("start-up must fail");
    assert!(
        format!("{err:#}").contains("wrapped by master key"),
        "{err:#}"
    );
}

/// The text with every UUID-shaped token (8-4-4-4-12 lowercase hex) removed.
pub(crate) fn strip_uuids(text: &str) -> String {
    let shape = [8, 4, 4, 4, 12];
    let is_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    let bytes = text.as_bytes();
    let uuid_at = |i: usize| -> bool {
        let mut p = i;
        for (n, len) in shape.iter().enumerate() {
            if n > 0 {
                if bytes.get(p) != Some(&b'-') {
                    return false;
                }
                p += 1;
            }
            if !(0..*len).all(|k| bytes.get(p + k).is_some_and(|b| is_hex(*b))) {
                return false;
            }
            p += len;
        }
        true
    };
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if uuid_at(i) {
            i += 36;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn scan_helpers_remove_only_ids_and_bytea() {
    let line = "Patient\t01a209af-44b9-7019-b9a9-5965b883ac09\t12345\t\\\\x00ff\tfemale";
    assert_eq!(
        strip_uuids(&strip_hex_runs(line)),
        "Patient\t\t12345\t\tfemale"
    );
}

/// A data-only `pg_dump` of the test's database, as text.
pub(crate) fn pg_dump(app: &TestApp) -> String {
    let bin = fhirgate::store::cluster::find_binaries()
        .map(|d| d.join("pg_dump"))
        .unwrap_or_else(|| "pg_dump".into());
    let out = std::process::Command::new(bin)
        .arg("--data-only")
        .arg("-d")
        .arg(&app.db_url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pg_dump failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
