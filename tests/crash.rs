//! A transaction never leaves partial data after a crash (issue #4,
//! "Concurrency"): the real binary, killed with SIGKILL while transactions are
//! in flight, then restarted on the same data directory. Every transaction is
//! then either wholly present or wholly absent, and every one that was answered
//! 200 before the kill is wholly present.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "support/mod.rs"]
mod support;
use support::free_port;

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const PER_BUNDLE: usize = 20;

fn start(dir: &std::path::Path, port: u16, log_name: &str) -> Child {
    start_with_mllp(dir, port, 0, log_name)
}

/// `mllp` 0: the listener on a port nobody uses (the tests run in parallel).
fn start_with_mllp(dir: &std::path::Path, port: u16, mllp: u16, log_name: &str) -> Child {
    let log = std::fs::File::create(dir.join(log_name)).unwrap();
    Command::new(env!("CARGO_BIN_EXE_fhirgate"))
        .arg("serve")
        .env_remove("FHIRGATE_DATABASE_URL")
        .env_remove("DATABASE_URL")
        .env_remove("FHIRGATE_MASTER_KEY")
        .env("FHIRGATE_EMBEDDED_POSTGRES", "true")
        .env("FHIRGATE_DATA_DIR", dir)
        .env("FHIRGATE_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .env("FHIRGATE_MLLP_ADDR", format!("127.0.0.1:{mllp}"))
        .env("FHIRGATE_LOG", "warn")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .unwrap()
}

async fn ready(client: &reqwest::Client, base: &str, child: &mut Child, dir: &std::path::Path) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return;
        }
        let logs = || {
            let mut s = String::new();
            for f in ["first.log", "second.log"] {
                s.push_str(&std::fs::read_to_string(dir.join(f)).unwrap_or_default());
            }
            s
        };
        assert!(Instant::now() < deadline, "gateway not ready: {}", logs());
        assert!(
            child.try_wait().unwrap().is_none(),
            "gateway exited: {}",
            logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn bundle(n: usize) -> Value {
    let entries: Vec<Value> = (0..PER_BUNDLE)
        .map(|k| {
            json!({"fullUrl": format!("urn:uuid:00000000-0000-4000-8000-{:06}{:06}", n, k),
                   "resource": {"resourceType": "Patient", "name": [{"family": format!("Crash{n}"), "given": [format!("K{k}")]}]},
                   "request": {"method": "POST", "url": "Patient"}})
        })
        .collect();
    json!({"resourceType": "Bundle", "type": "transaction", "entry": entries})
}

/// Four senders call `send(0)`, `send(1)`, ... as fast as answers come:
/// `Some(Ok)` acknowledged, `Some(Err)` refused (the test fails), `None` the
/// gateway is gone. Once `min_acked` are acknowledged the gateway is SIGKILLed.
/// Returns the acknowledged numbers and how many were attempted.
async fn load_then_kill<F, Fut>(child: &mut Child, min_acked: usize, send: F) -> (Vec<usize>, usize)
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Option<Result<(), String>>> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (stop, acked, sent, send) = (
            stop.clone(),
            acknowledged.clone(),
            sent.clone(),
            send.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let n = sent.fetch_add(1, Ordering::SeqCst);
                match send(n).await {
                    Some(Ok(())) => acked.lock().unwrap().push(n),
                    Some(Err(why)) => panic!("{why}"),
                    None => break,
                }
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while acknowledged.lock().unwrap().len() < min_acked {
        assert!(
            Instant::now() < deadline,
            "too few acknowledged before the deadline"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    stop.store(true, Ordering::SeqCst);
    for t in tasks {
        t.await.unwrap();
    }
    let acked = acknowledged.lock().unwrap().clone();
    (acked, sent.load(Ordering::SeqCst))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_load_leaves_whole_transactions_only() {
    let dir = std::env::temp_dir().join(format!("crash-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut child = start(&dir, port, "first.log");
    ready(&client, &base, &mut child, &dir).await;
    let client = support::embedded_operator_client(&dir, port);

    // Four uploaders post transactions until the gateway dies under them.
    let (acked, attempted) = {
        let (client, base) = (client.clone(), base.clone());
        load_then_kill(&mut child, 3, move |n| {
            let (client, base) = (client.clone(), base.clone());
            async move {
                let r = client
                    .post(format!("{base}/fhir"))
                    .header("content-type", "application/fhir+json")
                    .body(bundle(n).to_string())
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 200 => Some(Ok(())),
                    Ok(r) => Some(Err(format!("transaction {n}: status {}", r.status()))),
                    Err(_) => None, // the gateway is gone
                }
            }
        })
        .await
    };

    // The private cluster's watchdog stops PostgreSQL when the gateway dies; a
    // restart runs its crash recovery.
    let mut child = start(&dir, port, "second.log");
    ready(&client, &base, &mut child, &dir).await;
    let mut whole = 0;
    for n in 0..attempted {
        let b: Value = client
            .get(format!(
                "{base}/fhir/Patient?family:exact=Crash{n}&_total=accurate&_count=0"
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let found = b["total"].as_u64().unwrap() as usize;
        assert!(
            found == 0 || found == PER_BUNDLE,
            "transaction {n}: {found} of {PER_BUNDLE} entries stored"
        );
        if acked.contains(&n) {
            assert_eq!(found, PER_BUNDLE, "acknowledged transaction {n} lost");
        }
        whole += usize::from(found == PER_BUNDLE);
    }
    assert!(whole >= acked.len());
    eprintln!(
        "crash test: {attempted} transactions sent, {} acknowledged before the kill, {whole} stored whole",
        acked.len()
    );
    Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let stop_deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < stop_deadline,
            "gateway did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// An ORU^R01 with five results; `n` makes the control id and the patient unique.
fn oru(n: usize) -> String {
    [
        format!("MSH|^~\\&|ANALYZER|LAB|FHIRGATE|HOSP|20261201083000+0000||ORU^R01^ORU_R01|K-{n}|P|2.5.1"),
        format!("PID|1||KMRN-{n}^^^LAB^MR||Crash^Patient{n}||19700101|F"),
        format!("OBR|1|KP-{n}^LAB|KF-{n}^LAB|24323-8^Metabolic panel^LN|||20261201073000+0000"),
        "OBX|1|NM|2345-7^Glucose^LN||99|mg/dL^mg/dL^UCUM|70-105|N|||F".into(),
        "OBX|2|NM|2951-2^Sodium^LN||140|mmol/L^mmol/L^UCUM|136-145|N|||F".into(),
        "OBX|3|NM|2823-3^Potassium^LN||4.1|mmol/L^mmol/L^UCUM|3.5-5.1|N|||F".into(),
        "OBX|4|NM|2160-0^Creatinine^LN||0.9|mg/dL^mg/dL^UCUM|0.6-1.2|N|||F".into(),
        "OBX|5|NM|2075-0^Chloride^LN||101|mmol/L^mmol/L^UCUM|98-107|N|||F".into(),
    ]
    .join("\r")
        + "\r"
}

/// MLLP: <VT> message <FS><CR> (HL7 v2.5.1 Appendix C.4); returns the ACK's
/// MSA-1, or None when the connection broke first.
async fn deliver(port: u16, n: usize) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    let mut framed = vec![0x0B];
    framed.extend_from_slice(oru(n).as_bytes());
    framed.extend_from_slice(&[0x1C, 0x0D]);
    s.write_all(&framed).await.ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.ends_with(&[0x1C, 0x0D]) {
        let k = tokio::time::timeout(Duration::from_secs(30), s.read(&mut chunk))
            .await
            .ok()?
            .ok()?;
        if k == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..k]);
    }
    let text = String::from_utf8_lossy(&buf).to_string();
    let msa = text.split('\r').find(|l| l.starts_with("MSA"))?.to_owned();
    msa.split('|').nth(1).map(str::to_owned)
}

/// Issue #5: SIGKILL in the middle of a stream of HL7 messages loses no
/// acknowledged message and applies none twice. The senders behave as MLLP
/// senders do: a message without an ACK is sent again after the restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_hl7_stream_loses_no_acknowledged_message_and_applies_none_twice() {
    let dir = std::env::temp_dir().join(format!("crash-hl7-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let (port, mllp) = (free_port(), free_port());
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut child = start_with_mllp(&dir, port, mllp, "first.log");
    ready(&client, &base, &mut child, &dir).await;
    let client = support::embedded_operator_client(&dir, port);

    let (acked, attempted) = load_then_kill(&mut child, 5, move |n| async move {
        match deliver(mllp, n).await {
            Some(code) if code == "AA" => Some(Ok(())),
            Some(code) => Some(Err(format!("message {n}: {code}"))),
            None => None,
        }
    })
    .await;

    let mut child = start_with_mllp(&dir, port, mllp, "second.log");
    ready(&client, &base, &mut child, &dir).await;
    let results = |n: usize| {
        let (client, base) = (client.clone(), base.clone());
        async move {
            let b: Value = client
                .get(format!(
                    "{base}/fhir/Observation?subject:Patient.identifier=KMRN-{n}&value-quantity:missing=false&_total=accurate&_count=0"
                ))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            b["total"].as_u64().unwrap()
        }
    };
    // Nothing acknowledged was lost, and nothing is there by halves.
    for n in 0..attempted {
        let found = results(n).await;
        assert!(
            found == 0 || found == 5,
            "message {n}: {found} of 5 results"
        );
        if acked.contains(&n) {
            assert_eq!(found, 5, "acknowledged message {n} lost");
        }
    }
    // Every sender resends what it got no ACK for, and (to be sure of the
    // duplicate check) the acknowledged ones too: each is applied once.
    for n in 0..attempted {
        assert_eq!(
            deliver(mllp, n).await.as_deref(),
            Some("AA"),
            "resending {n}"
        );
    }
    for n in 0..attempted {
        assert_eq!(results(n).await, 5, "message {n} after the resend");
    }
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = metrics
        .lines()
        .find(|l| l.starts_with("fhirgate_hl7_duplicates_total "))
        .unwrap();
    let duplicates: usize = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(duplicates >= acked.len(), "{line}");
    eprintln!(
        "HL7 crash test: {attempted} messages sent, {} acknowledged before the kill, {duplicates} answered as duplicates after it",
        acked.len()
    );
    Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
