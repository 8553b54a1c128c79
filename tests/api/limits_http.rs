//! HTTP denial-of-service limits (issue #15): body and head timeouts, the
//! connection caps overall and per client address, the JSON value limit and the
//! shared parse budget.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::helpers::*;

/// A TCP connection to the gateway from the loopback address `ip` (all of
/// 127.0.0.0/8 is loopback on Linux).
pub async fn connect_from(ip: &str, port: u16) -> TcpStream {
    let sock = TcpSocket::new_v4().unwrap();
    sock.bind(format!("{ip}:0").parse().unwrap()).unwrap();
    sock.connect(format!("127.0.0.1:{port}").parse().unwrap())
        .await
        .unwrap()
}

/// Everything the server sends until it closes the connection, or None when it
/// is still open after `wait`.
async fn until_closed(s: &mut TcpStream, wait: Duration) -> Option<String> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&out).into_owned()),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// A client whose connections come from `ip`.
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(Some(ip.parse().unwrap()))
        .build()
        .unwrap()
}

fn metric(text: &str, line_start: &str) -> i64 {
    text.lines()
        .find_map(|l| l.strip_prefix(line_start)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {line_start} in {text}"))
}

async fn metrics_from(app: &TestApp, client: &reqwest::Client) -> String {
    client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Polls /metrics (from `client`) until `name` reads `want`.
async fn wait_metric(app: &TestApp, client: &reqwest::Client, name: &str, want: i64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let m = metrics_from(app, client).await;
        if metric(&m, name) == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name} never reached {want}: {m}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn every_body_reader_answers_408_when_the_body_does_not_arrive() {
    let app = spawn_app_with(|s| s.limits.body_timeout = Duration::from_secs(1)).await;
    let port = app.http_port();
    let requests = [
        ("POST", "/fhir/Patient", "application/fhir+json"),
        ("PUT", "/fhir/Patient/p1", "application/fhir+json"),
        ("PUT", "/fhir/Patient?identifier=x", "application/fhir+json"),
        ("PATCH", "/fhir/Patient/p1", "application/json-patch+json"),
        ("POST", "/fhir", "application/fhir+json"),
        (
            "POST",
            "/fhir/Patient/_search",
            "application/x-www-form-urlencoded",
        ),
    ];
    let token = crate::helpers::system_token(&app.authority, "system/*.cruds");
    let token = &token;
    let runs = requests.map(|(method, path, ct)| async move {
        let mut s = connect_from("127.0.0.1", port).await;
        // Content-Length says 100; 10 bytes come, and then nothing.
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\nContent-Type: {ct}\r\nContent-Length: 100\r\n\r\n{{\"resource"
        );
        s.write_all(head.as_bytes()).await.unwrap();
        let start = Instant::now();
        let answer = until_closed(&mut s, Duration::from_secs(6))
            .await
            .unwrap_or_else(|| panic!("{method} {path}: still waiting for the body"));
        (method, path, start.elapsed(), answer)
    });
    for (method, path, took, answer) in futures_util::future::join_all(runs).await {
        // RFC 9110 section 15.5.9: 408, and the connection closed.
        assert!(
            answer.starts_with("HTTP/1.1 408"),
            "{method} {path}: {answer}"
        );
        assert!(answer.contains("OperationOutcome"), "{answer}");
        assert!(answer.contains("\"timeout\""), "{answer}");
        assert!(
            took >= Duration::from_millis(900),
            "{method} {path}: {took:?}"
        );
    }
    let m = app.get("/metrics").await.text().await.unwrap();
    assert_eq!(metric(&m, "fhirgate_http_body_timeouts_total"), 6, "{m}");
}

#[tokio::test]
async fn a_request_head_that_does_not_arrive_is_cut_at_the_header_timeout() {
    let app = spawn_app_with(|s| s.limits.header_timeout = Duration::from_secs(1)).await;
    let mut s = connect_from("127.0.0.1", app.http_port()).await;
    s.write_all(b"POST /fhir/Patient HTTP/1.1\r\nHost: t\r\n")
        .await
        .unwrap();
    let start = Instant::now();
    // actix's own default is 5 s: 3 s tells the setting apart.
    let answer = until_closed(&mut s, Duration::from_secs(3)).await;
    assert!(answer.is_some(), "the connection is still open");
    assert!(start.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn one_address_over_its_cap_is_refused_while_another_is_served() {
    let app = spawn_app_with(|s| {
        s.limits.max_connections_per_address = 3;
        s.limits.header_timeout = Duration::from_secs(60);
    })
    .await;
    let port = app.http_port();
    let other = client_from("127.0.0.2");
    // Three connections from 127.0.0.1, each in the middle of a request head.
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut s = connect_from("127.0.0.1", port).await;
        s.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
        held.push(s);
    }
    // All three admitted (and the one /metrics comes over).
    wait_metric(&app, &other, "fhirgate_http_connections ", 4).await;
    // The fourth from 127.0.0.1 is closed at once, without a word.
    let mut fourth = connect_from("127.0.0.1", port).await;
    let answer = until_closed(&mut fourth, Duration::from_secs(2)).await;
    assert_eq!(answer.as_deref(), Some(""), "the fourth was not refused");
    // 127.0.0.2 is served meanwhile.
    let r = other.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let m = metrics_from(&app, &other).await;
    assert_eq!(
        metric(
            &m,
            "fhirgate_http_connections_refused_total{reason=\"address\"}"
        ),
        1,
        "{m}"
    );
    // A slot given back is a slot to use.
    drop(held.pop());
    wait_metric(&app, &other, "fhirgate_http_connections ", 3).await;
    let mut again = connect_from("127.0.0.1", port).await;
    again
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let answer = until_closed(&mut again, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn the_overall_cap_is_exact_across_workers() {
    // Two workers: actix alone would admit ceil(3 / 2) = 2 each, 4 in all.
    let app = spawn_app_with(|s| {
        s.http_workers = 2;
        s.limits.max_connections = 3;
        s.limits.max_connections_per_address = 3;
        s.limits.header_timeout = Duration::from_secs(60);
    })
    .await;
    let port = app.http_port();
    let watcher = client_from("127.0.0.2");
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = connect_from("127.0.0.1", port).await;
        s.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
        held.push(s);
    }
    wait_metric(&app, &watcher, "fhirgate_http_connections ", 3).await;
    let mut fourth = connect_from("127.0.0.3", port).await;
    let answer = until_closed(&mut fourth, Duration::from_secs(2)).await;
    assert_eq!(answer.as_deref(), Some(""), "the fourth was not refused");
    let m = metrics_from(&app, &watcher).await;
    assert_eq!(
        metric(
            &m,
            "fhirgate_http_connections_refused_total{reason=\"cap\"}"
        ),
        1,
        "{m}"
    );
}

/// A Patient of about `n` JSON values: `n / 2` names of two values each.
fn patient_of(n: usize) -> Value {
    let names: Vec<Value> = (0..n / 2).map(|_| json!({"text": "a"})).collect();
    json!({"resourceType": "Patient", "name": names})
}

#[tokio::test]
async fn a_resource_over_the_json_value_limit_is_refused_413() {
    let app = spawn_app_with(|s| s.limits.max_json_nodes = 1000).await;
    let r = app.post_json("Patient", &patient_of(1200)).await;
    let oo = assert_outcome(r, 413).await;
    assert_eq!(oo["issue"][0]["code"], "too-costly");
    // A transaction of three resources of 600 values each: every one is under the
    // limit, their sum is not, and a Bundle's entries count each for itself.
    let entry = |i: usize| {
        json!({"fullUrl": format!("urn:uuid:0000000{i}-0000-4000-8000-000000000000"),
               "resource": patient_of(600),
               "request": {"method": "POST", "url": "Patient"}})
    };
    let bundle = json!({"resourceType": "Bundle", "type": "transaction",
                        "entry": [entry(1), entry(2), entry(3)]});
    let r = app.post_json("", &bundle).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    // A JSON Patch document is held to the same limit.
    let (id, _) = app
        .create(&json!({"resourceType": "Patient", "active": true}))
        .await;
    let ops: Vec<Value> = (0..600)
        .map(|_| json!({"op": "test", "path": "/active", "value": true}))
        .collect();
    let r = app
        .client
        .patch(app.url(&format!("Patient/{id}")))
        .header("content-type", "application/json-patch+json")
        .body(Value::Array(ops).to_string())
        .send()
        .await
        .unwrap();
    let oo = assert_outcome(r, 413).await;
    assert_eq!(oo["issue"][0]["code"], "too-costly");
    let m = app.get("/metrics").await.text().await.unwrap();
    assert_eq!(
        metric(&m, "fhirgate_http_json_nodes_refused_total"),
        2,
        "{m}"
    );
}

/// A Patient padded with trailing spaces to exactly `len` bytes.
fn padded_patient(len: usize) -> Vec<u8> {
    let mut b = br#"{"resourceType":"Patient","active":true}"#.to_vec();
    b.resize(len, b' ');
    b
}

#[tokio::test]
async fn requests_past_the_parse_budget_get_503_and_the_budget_is_never_exceeded() {
    const BODY: usize = 64 * 1024;
    let app = spawn_app_with(|s| {
        s.max_body_bytes = BODY;
        s.limits.parse_budget_bytes = 2 * BODY;
        s.limits.parse_budget_wait = Duration::from_millis(300);
    })
    .await;
    let port = app.http_port();
    let body = padded_patient(BODY);
    // Two bodies of the largest size arrive slowly: they hold the whole budget.
    let mut slow = Vec::new();
    for _ in 0..2 {
        let mut s = connect_from("127.0.0.1", port).await;
        let head = format!(
            "POST /fhir/Patient HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {}\r\nContent-Type: application/fhir+json\r\nContent-Length: {BODY}\r\n\r\n",
            crate::helpers::system_token(&app.authority, "system/*.cruds")
        );
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(&body[..100]).await.unwrap();
        slow.push(s);
    }
    let watcher = client_from("127.0.0.2");
    wait_metric(
        &app,
        &watcher,
        "fhirgate_http_parse_budget_in_use_bytes ",
        2 * BODY as i64,
    )
    .await;
    // A third, large or small, finds no room within the wait: 503 with Retry-After.
    for len in [BODY, 1024] {
        let r = app
            .client
            .post(app.url("Patient"))
            .header("content-type", FHIR_JSON)
            .body(padded_patient(len))
            .send()
            .await
            .unwrap();
        assert!(r.headers().get("retry-after").is_some(), "{len}");
        let oo = assert_outcome(r, 503).await;
        assert_eq!(oo["issue"][0]["code"], "throttled");
    }
    let m = metrics_from(&app, &watcher).await;
    assert_eq!(
        metric(&m, "fhirgate_http_parse_budget_refused_total"),
        2,
        "{m}"
    );
    assert_eq!(
        metric(&m, "fhirgate_http_parse_budget_bytes "),
        2 * BODY as i64
    );
    assert!(metric(&m, "fhirgate_http_parse_budget_in_use_bytes ") <= 2 * BODY as i64);
    // The slow ones finish and are served; their shares come back.
    for mut s in slow {
        s.write_all(&body[100..]).await.unwrap();
        let mut buf = [0u8; 12];
        s.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"HTTP/1.1 201");
    }
    wait_metric(
        &app,
        &watcher,
        "fhirgate_http_parse_budget_in_use_bytes ",
        0,
    )
    .await;
    let r = app
        .client
        .post(app.url("Patient"))
        .header("content-type", FHIR_JSON)
        .body(padded_patient(BODY))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
}
