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

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const PER_BUNDLE: usize = 20;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(dir: &std::path::Path, port: u16, log_name: &str) -> Child {
    let log = std::fs::File::create(dir.join(log_name)).unwrap();
    Command::new(env!("CARGO_BIN_EXE_fhirgate"))
        .arg("serve")
        .env_remove("FHIRGATE_DATABASE_URL")
        .env_remove("DATABASE_URL")
        .env_remove("FHIRGATE_MASTER_KEY")
        .env("FHIRGATE_EMBEDDED_POSTGRES", "true")
        .env("FHIRGATE_DATA_DIR", dir)
        .env("FHIRGATE_HTTP_ADDR", format!("127.0.0.1:{port}"))
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_load_leaves_whole_transactions_only() {
    let dir = std::env::temp_dir().join(format!("crash-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut child = start(&dir, port, "first.log");
    ready(&client, &base, &mut child, &dir).await;

    // Four uploaders post transactions until the gateway dies under them.
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (client, base, stop, acked, sent) = (
            client.clone(),
            base.clone(),
            stop.clone(),
            acknowledged.clone(),
            sent.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let n = sent.fetch_add(1, Ordering::SeqCst);
                let r = client
                    .post(format!("{base}/fhir"))
                    .header("content-type", "application/fhir+json")
                    .body(bundle(n).to_string())
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 200 => acked.lock().unwrap().push(n),
                    Ok(r) => panic!("transaction {n}: status {}", r.status()),
                    Err(_) => break, // the gateway is gone
                }
            }
        }));
    }
    // Let some transactions commit, then kill the gateway mid-load.
    let deadline = Instant::now() + Duration::from_secs(60);
    while acknowledged.lock().unwrap().len() < 3 {
        assert!(Instant::now() < deadline, "no transaction committed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    stop.store(true, Ordering::SeqCst);
    for t in tasks {
        t.await.unwrap();
    }
    let acked = acknowledged.lock().unwrap().clone();
    let attempted = sent.load(Ordering::SeqCst);

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
