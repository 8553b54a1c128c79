//! File descriptors (issue #15): about 10,000 stalled HTTP connections exhausted
//! the process's descriptors and took HTTP and MLLP down together. The real
//! binary, started under a low descriptor limit (`prlimit`, util-linux), raises
//! its soft limit to the hard one, survives running out (accept fails with
//! EMFILE on both listeners), keeps serving the connections it has, and serves
//! new ones once the pressure ends.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;
use crate::hl7::oru;
use crate::hl7_client::*;
use crate::support::{free_port, Gateway};

const SOFT: u64 = 128;
const HARD: u64 = 400;

/// The soft and hard "Max open files" of a process (proc(5), /proc/pid/limits).
fn nofile_of(pid: u32) -> (u64, u64) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let n: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    (n[0], n[1])
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

async fn response_of(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !String::from_utf8_lossy(&out).contains("\r\n\r\n") {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => out.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn the_binary_raises_its_descriptor_limit_and_survives_running_out() {
    // The database and master key of a test app; the gateway under test is
    // the real binary over them.
    let app = spawn_app().await;
    let (http, mllp) = (free_port(), free_port());
    let dir = std::env::temp_dir().join(format!("fd-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let log_path = dir.join("gateway.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let child = Command::new("prlimit")
        .arg(format!("--nofile={SOFT}:{HARD}"))
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_fhirgate"))
        .arg("serve")
        .env("FHIRGATE_DATABASE_URL", &app.db_url)
        .env("FHIRGATE_MASTER_KEY", &app.master_key_hex)
        .env("FHIRGATE_DATA_DIR", &dir)
        .env("FHIRGATE_HTTP_ADDR", format!("127.0.0.1:{http}"))
        .env("FHIRGATE_MLLP_ADDR", format!("127.0.0.1:{mllp}"))
        .env("FHIRGATE_DB_POOL_SIZE", "4")
        // Caps above the descriptor limit, so that the limit is what runs out.
        .env("FHIRGATE_HTTP_MAX_CONNECTIONS", "5000")
        .env("FHIRGATE_HTTP_MAX_CONNECTIONS_PER_ADDRESS", "5000")
        .env("FHIRGATE_MLLP_MAX_CONNECTIONS", "5000")
        .env("FHIRGATE_MLLP_MAX_CONNECTIONS_PER_ADDRESS", "5000")
        .env("FHIRGATE_HTTP_HEADER_TIMEOUT_SECS", "120")
        .env("FHIRGATE_MLLP_FIRST_FRAME_TIMEOUT_SECS", "120")
        .env("FHIRGATE_LOG", "warn")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let mut gw = Gateway(child);
    let pid = gw.0.id();
    let base = format!("http://127.0.0.1:{http}");
    let client = reqwest::Client::new();
    let logs = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
    {
        assert!(gw.0.try_wait().unwrap().is_none(), "exited: {}", logs());
        assert!(Instant::now() < deadline, "never ready: {}", logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let client = crate::support::bearer_client(&crate::support::operator_token(
        &[
            ("FHIRGATE_DATABASE_URL", app.db_url.clone()),
            ("FHIRGATE_MASTER_KEY", app.master_key_hex.clone()),
            ("FHIRGATE_DATA_DIR", dir.display().to_string()),
            ("FHIRGATE_HTTP_ADDR", format!("127.0.0.1:{http}")),
        ],
        &[],
    ));
    // The soft limit was raised to the hard one.
    assert_eq!(nofile_of(pid), (HARD, HARD), "{}", logs());

    // Connections open before the pressure: an HTTP request whose head is not
    // finished yet, and an MLLP sender that has delivered a message.
    let mut early = TcpStream::connect(("127.0.0.1", http)).await.unwrap();
    early
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")
        .await
        .unwrap();
    let mut sender = Mllp::connect(mllp).await;
    assert_eq!(
        field(&sender.send(&oru("FD-1", "MRN-FD")).await, "MSA", 1),
        "AA"
    );

    // The pressure: more stalled connections than the process has descriptors,
    // on HTTP, then on MLLP once the descriptors are gone.
    // HARD + 50: past the descriptors by more than the gateway holds at rest
    // (~30), and within the listen backlog (128, std's) that queues the
    // connections it cannot accept: past it, connects time out instead.
    let mut pressure = Vec::new();
    for _ in 0..HARD + 50 {
        let mut s = TcpStream::connect(("127.0.0.1", http)).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
        pressure.push(s);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while open_fds(pid) < HARD as usize {
        assert!(Instant::now() < deadline, "{} fds open", open_fds(pid));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for _ in 0..50 {
        pressure.push(TcpStream::connect(("127.0.0.1", mllp)).await.unwrap());
    }
    // Long enough for both listeners to fail and back off more than once.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(gw.0.try_wait().unwrap().is_none(), "died: {}", logs());
    let emfile = logs().matches("os error 24").count();
    assert!(emfile >= 2, "no EMFILE on both listeners: {}", logs());
    assert!(logs().contains("MLLP accept failed"), "{}", logs());

    // The connections it has are served meanwhile.
    early.write_all(b"\r\n").await.unwrap();
    let answer = response_of(&mut early).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(
        field(&sender.send(&oru("FD-2", "MRN-FD")).await, "MSA", 1),
        "AA"
    );

    // The pressure ends: new connections are served again, on both.
    drop(pressure);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = client
            .post(format!("{base}/fhir/Patient"))
            .header("content-type", FHIR_JSON)
            .body(json!({"resourceType": "Patient", "active": true}).to_string())
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        if r.as_ref().is_ok_and(|r| r.status() == 201) {
            break;
        }
        assert!(Instant::now() < deadline, "{r:?}: {}", logs());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut fresh = Mllp::connect(mllp).await;
    assert_eq!(
        field(&fresh.send(&oru("FD-3", "MRN-FD")).await, "MSA", 1),
        "AA"
    );
    let m = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let accept_errors: u64 = m
        .lines()
        .find_map(|l| l.strip_prefix("fhirgate_hl7_accept_errors_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{m}"));
    assert!(accept_errors > 0, "{m}");
    assert!(gw.0.try_wait().unwrap().is_none());
    let _ = std::fs::remove_dir_all(&dir);
}
