//! The real binary, as an operator runs it: `fhirgate serve` on the private
//! PostgreSQL cluster path with nothing configured but a data directory, first
//! start key generation, graceful shutdown, and no PHI in any log line even at
//! trace level.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "support/mod.rs"]
mod support;
use support::free_port;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_on_private_cluster_logs_no_phi() {
    let dir = std::env::temp_dir().join(format!("cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let (port, mllp) = (free_port(), free_port());
    let log_path = dir.join("gateway.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fhirgate"))
        .arg("serve")
        .env_remove("FHIRGATE_DATABASE_URL")
        .env_remove("DATABASE_URL")
        .env_remove("FHIRGATE_MASTER_KEY")
        .env("FHIRGATE_EMBEDDED_POSTGRES", "true")
        .env("FHIRGATE_DATA_DIR", &dir)
        .env("FHIRGATE_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .env("FHIRGATE_MLLP_ADDR", format!("127.0.0.1:{mllp}"))
        .env("FHIRGATE_LOG", "trace")
        .env("FHIRGATE_LOG_FORMAT", "json")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "gateway did not become ready: {}",
            std::fs::read_to_string(&log_path).unwrap()
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "gateway exited: {}",
            std::fs::read_to_string(&log_path).unwrap()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // First start: a private master key, mode 0600.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.join("master.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // Every FHIR request needs a bearer token (issue #17): an operator's, from
    // `fhirgate token` run with the gateway's settings.
    let token = support::operator_token(
        &[
            ("FHIRGATE_EMBEDDED_POSTGRES", "true".into()),
            ("FHIRGATE_DATA_DIR", dir.display().to_string()),
            ("FHIRGATE_HTTP_ADDR", format!("127.0.0.1:{port}")),
        ],
        &[
            "FHIRGATE_DATABASE_URL",
            "DATABASE_URL",
            "FHIRGATE_MASTER_KEY",
        ],
    );
    let client = support::bearer_client(&token);

    let phi = [
        "Wolfeschlegel",
        "Hubertina",
        "SSN-998-12-3344",
        "1933-03-07",
        "+44 20 7946 0321",
        "221B Baker Street",
    ];
    let patient = serde_json::json!({
        "resourceType": "Patient",
        "identifier": [{"system": "urn:ssn", "value": phi[2]}],
        "name": [{"family": phi[0], "given": [phi[1]]}],
        "birthDate": phi[3],
        "telecom": [{"system": "phone", "value": phi[4]}],
        "address": [{"line": [phi[5]]}]
    });
    let r = client
        .post(format!("{base}/fhir/Patient"))
        .header("content-type", "application/fhir+json")
        .body(patient.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        client
            .get(format!("{base}/fhir/Patient/{id}"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let q = format!("{base}/fhir/Patient?family={}&birthdate={}", phi[0], phi[3]);
    assert_eq!(client.get(q).send().await.unwrap().status(), 200);
    // A refused write carrying PHI in the body.
    let mut bad = patient.clone();
    bad["birthDate"] = serde_json::json!("1933-02-30");
    let r = client
        .post(format!("{base}/fhir/Patient"))
        .header("content-type", "application/fhir+json")
        .body(bad.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        !r.text().await.unwrap().contains(phi[0]),
        "the OperationOutcome echoes PHI"
    );

    // The same PHI over HL7 v2, sent with `fhirgate hl7 send`: accepted, and in no
    // log line at trace level either (one good message, one the mapping refuses).
    let hl7 = dir.join("adt.hl7");
    std::fs::write(
        &hl7,
        format!(
            "MSH|^~\\&|REG|CLINIC|FHIRGATE|HOSP|20261201101500||ADT^A04^ADT_A01|CLI-1|P|2.5.1\r\
             EVN|A04|20261201101500\r\
             PID|1||{id}^^^CLINIC^MR||{fam}^{giv}||19330307|F|||{street}^^London||^PRN^PH^^44^20^79460321\r\
             MSH|^~\\&|REG|CLINIC|FHIRGATE|HOSP|20261201101600||ADT^A04^ADT_A01|CLI-2|P|2.5.1\r\
             PID|1||{id}^^^CLINIC^MR||{fam}^{giv}||19330230|F\r",
            id = phi[2],
            fam = phi[0],
            giv = phi[1],
            street = phi[5]
        ),
    )
    .unwrap();
    let sent = Command::new(env!("CARGO_BIN_EXE_fhirgate"))
        .args(["hl7", "send", "--addr", &format!("127.0.0.1:{mllp}")])
        .arg(&hl7)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&sent.stdout);
    assert!(out.contains("MSA|AA|CLI-1"), "{out}");
    assert!(
        out.contains("MSA|AE|CLI-2") || out.contains("MSA|AR|CLI-2"),
        "{out}"
    );
    assert!(
        !sent.status.success(),
        "a refused message must fail the command"
    );

    // Graceful stop: SIGTERM, the private cluster is stopped with the gateway.
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "gateway did not stop");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while dir.join("postgres/pgdata/postmaster.pid").exists() {
        assert!(
            Instant::now() < deadline,
            "the private cluster outlived the gateway"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut logs = String::new();
    std::fs::File::open(&log_path)
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    assert!(
        logs.contains("generated a new master key"),
        "no first-start key warning in: {logs}"
    );
    assert!(logs.contains("private PostgreSQL"), "{logs}");
    for line in logs.lines() {
        for s in phi {
            assert!(!line.contains(s), "PHI {s:?} in a log line: {line}");
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// HTTPS with rustls: `--tls-cert`/`--tls-key` serve the same API over TLS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_over_tls() {
    let dir = std::env::temp_dir().join(format!("tls-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(made.success(), "openssl could not make a test certificate");
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fhirgate"))
        .args(["serve", "--tls-cert"])
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .env("FHIRGATE_EMBEDDED_POSTGRES", "true")
        .env("FHIRGATE_DATA_DIR", &dir)
        .env("FHIRGATE_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .env_remove("FHIRGATE_DATABASE_URL")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let curl = |path: &str| {
        Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"])
            .arg(&cert)
            .args([
                "--resolve",
                &format!("localhost:{port}:127.0.0.1"),
                &format!("https://localhost:{port}{path}"),
            ])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
            .unwrap_or_default()
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    while curl("/readyz") != "200" {
        assert!(
            Instant::now() < deadline,
            "gateway did not become ready over TLS"
        );
        assert!(child.try_wait().unwrap().is_none(), "gateway exited");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(curl("/fhir/metadata"), "200");
    // Plain HTTP on the TLS port is refused.
    let plain = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &format!("http://127.0.0.1:{port}/healthz"),
        ])
        .output()
        .unwrap();
    assert_ne!(String::from_utf8_lossy(&plain.stdout), "200");
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let _ = child.wait();
    std::fs::remove_dir_all(&dir).ok();
}

/// `fhirgate import --help` documents every flag; an unreachable gateway and a
/// malformed file exit 1 with the reason on stderr or in the summary.
#[test]
fn import_help_and_exit_codes() {
    let bin = env!("CARGO_BIN_EXE_fhirgate");
    let out = Command::new(bin)
        .args(["import", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--url",
        "--concurrency",
        "--ndjson-bundle-size",
        "--no-identifier-match",
        "--progress",
        "--progress-every",
        "--show-paths",
        "--database-url",
        "--master-key-file",
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
    let dir = std::env::temp_dir().join(format!("cli-import-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("bad.json"), "{\"resourceType\":").unwrap();
    let port = free_port();
    let out = Command::new(bin)
        .args(["import", "--url", &format!("http://127.0.0.1:{port}/fhir")])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("unreachable"), "{err}");
}
