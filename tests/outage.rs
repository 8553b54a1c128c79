//! A database outage (issue #15, "Availability"): the real binary over a
//! private PostgreSQL cluster that the test stops and starts again. While the
//! database is down, FHIR requests get 503 with an OperationOutcome and
//! Retry-After quickly (http.html#2.21.0.17: a server fault is 5xx; 503 says
//! it is passing, RFC 9110 15.6.4 and 10.2.3), `/readyz` answers within a
//! second, and an MLLP sender gets its connection closed without an ACK (HL7
//! v2.5.1 2.9.2: no ACK means not accepted, so it resends). The log says so
//! once per outage, and once when it is over; afterwards everything works.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "support/mod.rs"]
mod support;
use support::{free_port, Gateway};

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fhirgate::store::cluster::PrivateCluster;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn start_cluster(dir: &std::path::Path) -> Arc<PrivateCluster> {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || Arc::new(PrivateCluster::start(&dir, true).unwrap()))
        .await
        .unwrap()
}

/// An ORU^R01 after HL7 v2.5.1 7.3.1, segments separated by CR.
fn oru(control: &str) -> String {
    [
        format!("MSH|^~\\&|LABSYS|CITYLAB|FHIRGATE|HOSP|20261201083000+0100||ORU^R01^ORU_R01|{control}|P|2.5.1"),
        "PID|1||OUT-1^^^CITYHOSP&1.2.3.4.5&ISO^MR||Outage^Olga||19710412|F".to_owned(),
        format!("OBR|1|P{control}^LABSYS|F{control}^CITYLAB|24323-8^Comprehensive metabolic panel^LN|||20261201073000+0100"),
        "OBX|1|NM|2345-7^Glucose^LN||182|mg/dL^mg/dL^UCUM|70-105|H|||F|||20261201073000+0100".to_owned(),
    ]
    .join("\r")
}

/// Sends one MLLP frame on a new connection; returns what came back before the
/// connection closed or an end block arrived (empty: closed without an answer).
async fn mllp_send(port: u16, message: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let mut frame = vec![0x0b];
    frame.extend_from_slice(message.as_bytes());
    frame.extend_from_slice(&[0x1c, 0x0d]);
    s.write_all(&frame).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
            .await
            .expect("the gateway neither answered nor closed within 10 s")
            .unwrap_or(0);
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        if got.ends_with(&[0x1c, 0x0d]) {
            break;
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

fn msa_code(ack: &str) -> String {
    ack.split('\r')
        .find(|s| s.trim_start_matches('\u{b}').starts_with("MSA|"))
        .and_then(|s| s.split('|').nth(1))
        .unwrap_or("")
        .to_owned()
}

/// Asserts a 503 OperationOutcome with Retry-After, answered within `bound`.
async fn assert_quick_503(req: reqwest::RequestBuilder, bound: Duration, what: &str) {
    let t = Instant::now();
    let r = req.send().await.unwrap();
    let took = t.elapsed();
    let status = r.status().as_u16();
    let retry_after = r.headers().get("retry-after").cloned();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 503, "{what}: {body}");
    assert!(took < bound, "{what}: answered after {took:?}");
    let secs: u64 = retry_after
        .unwrap_or_else(|| panic!("{what}: no Retry-After"))
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(secs > 0, "{what}: Retry-After {secs}");
    assert_eq!(body["resourceType"], "OperationOutcome", "{what}: {body}");
    assert_eq!(body["issue"][0]["code"], "transient", "{what}: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_outage_gives_quick_503s_and_one_log_line() {
    let dir = std::env::temp_dir().join(format!("fhirgate-outage-{}", uuid::Uuid::new_v4()));
    let pg_dir = dir.join("pg");
    let cluster = start_cluster(&pg_dir).await;
    let (port, mllp) = (free_port(), free_port());
    let log_path = dir.join("gateway.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut gateway = Gateway(
        Command::new(env!("CARGO_BIN_EXE_fhirgate"))
            .arg("serve")
            .env_remove("DATABASE_URL")
            .env_remove("FHIRGATE_MASTER_KEY")
            .env("FHIRGATE_DATABASE_URL", cluster.url("fhirgate"))
            .env("FHIRGATE_DATA_DIR", dir.join("gw"))
            .env("FHIRGATE_HTTP_ADDR", format!("127.0.0.1:{port}"))
            .env("FHIRGATE_MLLP_ADDR", format!("127.0.0.1:{mllp}"))
            .env("FHIRGATE_LOG", "info")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let child = &mut gateway.0;
    let client = reqwest::Client::new();
    let server = format!("http://127.0.0.1:{port}");
    let base = format!("{server}/fhir");
    let logs = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !client
        .get(format!("{server}/readyz"))
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
    {
        assert!(Instant::now() < deadline, "not ready: {}", logs());
        assert!(child.try_wait().unwrap().is_none(), "exited: {}", logs());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let client = support::bearer_client(&support::operator_token(
        &[
            ("FHIRGATE_DATABASE_URL", cluster.url("fhirgate")),
            ("FHIRGATE_DATA_DIR", dir.join("gw").display().to_string()),
            ("FHIRGATE_HTTP_ADDR", format!("127.0.0.1:{port}")),
        ],
        &["DATABASE_URL", "FHIRGATE_MASTER_KEY"],
    ));
    let patient = json!({"resourceType": "Patient", "name": [{"family": "Outage"}]});
    let created = client
        .post(format!("{base}/Patient"))
        .header("content-type", "application/fhir+json")
        .body(patient.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let id = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(msa_code(&mllp_send(mllp, &oru("OUT-0")).await), "AA");

    // The outage: PostgreSQL stops (fast shutdown closes every connection).
    {
        let c = cluster.clone();
        tokio::task::spawn_blocking(move || c.stop()).await.unwrap();
    }
    drop(cluster);
    let bound = Duration::from_secs(3);
    // The first request meets a pooled connection the server closed.
    for _ in 0..3 {
        assert_quick_503(client.get(format!("{base}/Patient/{id}")), bound, "read").await;
    }
    assert_quick_503(
        client.get(format!("{base}/Patient?family=outage")),
        bound,
        "search",
    )
    .await;
    assert_quick_503(
        client
            .post(format!("{base}/Patient"))
            .header("content-type", "application/fhir+json")
            .body(patient.to_string()),
        bound,
        "create",
    )
    .await;
    // More requests at once than the pool has connections (16) all get it quickly.
    let many: Vec<_> = (0..40)
        .map(|_| {
            let (client, url) = (client.clone(), format!("{base}/Patient/{id}"));
            tokio::spawn(async move { assert_quick_503(client.get(url), bound, "burst").await })
        })
        .collect();
    for t in many {
        t.await.unwrap();
    }
    let t = Instant::now();
    let ready = client.get(format!("{server}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    // An outage of some seconds: the pool keeps trying to reconnect meanwhile
    // (logging nothing more), and requests keep failing fast.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_quick_503(
        client.get(format!("{base}/Patient/{id}")),
        bound,
        "later read",
    )
    .await;
    // MLLP: each message is answered by closing the connection, without an ACK.
    for n in 1..=3 {
        let t = Instant::now();
        let answer = mllp_send(mllp, &oru(&format!("OUT-{n}"))).await;
        assert_eq!(answer, "", "an ACK while the database is down");
        assert!(t.elapsed() < bound, "{:?}", t.elapsed());
    }

    // The database is back: so is the gateway, without a restart.
    let cluster = start_cluster(&pg_dir).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = client
            .get(format!("{base}/Patient/{id}"))
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still {} after the database came back",
            r.status()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        client
            .get(format!("{server}/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // The sender's resend of a message closed without ACK is applied.
    assert_eq!(msa_code(&mllp_send(mllp, &oru("OUT-2")).await), "AA");
    let metrics = client
        .get(format!("{server}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("fhirgate_hl7_unavailable_total 3"),
        "{metrics}"
    );

    Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    child.wait().unwrap();
    let text = logs();
    let count = |needle: &str| text.lines().filter(|l| l.contains(needle)).count();
    // One line when the outage starts and one when it ends, for the gateway and
    // for its HL7 senders; none per request, message or reconnection attempt.
    assert_eq!(count("database unreachable"), 1, "{text}");
    assert_eq!(count("database reachable again"), 1, "{text}");
    assert_eq!(
        count("HL7 messages are closed without ACK (senders"),
        1,
        "{text}"
    );
    assert_eq!(count("HL7 messages are acknowledged again"), 1, "{text}");
    assert_eq!(count("could not store an HL7 message"), 0, "{text}");
    assert_eq!(count("request failed"), 0, "{text}");
    assert_eq!(count("audit batch failed"), 0, "{text}");
    drop(cluster);
    let _ = std::fs::remove_dir_all(&dir);
}
