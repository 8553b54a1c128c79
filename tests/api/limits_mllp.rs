//! MLLP denial-of-service limits (issue #15): 256 idle connections from one
//! address shut every other HL7 sender out for the 300 s idle timeout. Now: a cap
//! per client address, a short timeout until the first complete frame, and a
//! reserve (an idle connection of the address holding the most makes room for a
//! sender from an address holding fewer).

use std::time::{Duration, Instant};

use crate::helpers::*;
use crate::hl7::oru;
use crate::hl7_client::*;

fn metric(text: &str, name: &str) -> i64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

async fn metrics(app: &TestApp) -> String {
    app.get("/metrics").await.text().await.unwrap()
}

/// Polls /metrics until the open-connection gauge reads `n`.
async fn wait_open(app: &TestApp, n: i64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let m = metrics(app).await;
        if metric(&m, "fhirgate_hl7_connections") == n {
            return;
        }
        assert!(Instant::now() < deadline, "never {n} open: {m}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn idle_sockets_of_one_address_holding_the_cap_do_not_shut_out_another_sender() {
    let app = spawn_app_with(|s| {
        s.hl7.max_connections = 4;
        s.hl7.max_connections_per_address = 4;
        s.hl7.first_frame_timeout = Duration::from_secs(60);
    })
    .await;
    let port = app.mllp_port();
    // 127.0.0.1 holds the whole cap: one connection that delivered a message
    // and then went quiet, three that never said anything.
    let mut held = vec![Mllp::connect_from("127.0.0.1", port).await];
    let ack = held[0].send(&oru("HOLD-1", "MRN-H")).await;
    assert_eq!(field(&ack, "MSA", 1), "AA");
    // The server marks the connection idle right after sending the ACK; give it
    // that moment, so that the three below are idle since later.
    tokio::time::sleep(Duration::from_millis(100)).await;
    for _ in 0..3 {
        held.push(Mllp::connect_from("127.0.0.1", port).await);
    }
    wait_open(&app, 4).await;
    // A sender from 127.0.0.2 is served, not refused.
    let mut other = Mllp::connect_from("127.0.0.2", port).await;
    other.write_raw(&frame(&oru("OTHER-1", "MRN-O"))).await;
    let ack = other
        .read_frame_within(Duration::from_secs(10))
        .await
        .expect("the second address was refused while the first held idle sockets");
    assert_eq!(field(&ack, "MSA", 1), "AA");
    assert_eq!(field(&ack, "MSA", 2), "OTHER-1");
    // The longest idle of 127.0.0.1 (the first, idle since its ACK, before the
    // three others connected) was closed for it, and only that one.
    assert!(held[0].closed_within(Duration::from_secs(5)).await);
    for c in &mut held[1..] {
        assert!(!c.closed_within(Duration::from_millis(200)).await);
    }
    let m = metrics(&app).await;
    assert_eq!(
        metric(&m, "fhirgate_hl7_connections_evicted_total"),
        1,
        "{m}"
    );
    assert_eq!(metric(&m, "fhirgate_hl7_connections"), 4, "{m}");
    // A third address too (127.0.0.1 holds 3, 127.0.0.3 none).
    let mut third = Mllp::connect_from("127.0.0.3", port).await;
    assert_eq!(
        field(&third.send(&oru("THIRD-1", "MRN-T")).await, "MSA", 1),
        "AA"
    );
    // The one holding the most cannot push the others out: 127.0.0.1 (2 open)
    // against 1 each, over the cap, is refused.
    wait_open(&app, 4).await;
    let mut again = Mllp::connect_from("127.0.0.1", port).await;
    assert!(again.closed_within(Duration::from_secs(5)).await);
    assert!(!other.closed_within(Duration::from_millis(200)).await);
    let m = metrics(&app).await;
    assert_eq!(
        metric(&m, "fhirgate_hl7_connections_refused_total"),
        1,
        "{m}"
    );
}

#[tokio::test]
async fn one_address_is_held_to_its_own_cap() {
    let app = spawn_app_with(|s| {
        s.hl7.max_connections = 10;
        s.hl7.max_connections_per_address = 2;
    })
    .await;
    let port = app.mllp_port();
    let _a = Mllp::connect_from("127.0.0.1", port).await;
    let _b = Mllp::connect_from("127.0.0.1", port).await;
    wait_open(&app, 2).await;
    // The third from the same address is closed at once...
    let mut c = Mllp::connect_from("127.0.0.1", port).await;
    assert!(c.closed_within(Duration::from_secs(5)).await);
    // ...while another address is served.
    let mut d = Mllp::connect_from("127.0.0.2", port).await;
    assert_eq!(
        field(&d.send(&oru("ADDR-1", "MRN-A")).await, "MSA", 1),
        "AA"
    );
    let m = metrics(&app).await;
    assert_eq!(
        metric(&m, "fhirgate_hl7_connections_refused_address_total"),
        1,
        "{m}"
    );
}

#[tokio::test]
async fn a_connection_without_a_complete_frame_is_closed_at_the_first_frame_timeout() {
    let app = spawn_app_with(|s| {
        s.hl7.first_frame_timeout = Duration::from_secs(1);
        s.hl7.idle_timeout = Duration::from_secs(60);
    })
    .await;
    let port = app.mllp_port();
    let start = Instant::now();
    let mut silent = Mllp::connect(port).await;
    let mut partial = Mllp::connect(port).await;
    let half = frame(&oru("HALF-1", "MRN-P"));
    partial.write_raw(&half[..half.len() / 2]).await;
    let mut talker = Mllp::connect(port).await;
    assert_eq!(
        field(&talker.send(&oru("TALK-1", "MRN-K")).await, "MSA", 1),
        "AA"
    );
    assert!(silent.closed_within(Duration::from_secs(5)).await);
    assert!(partial.closed_within(Duration::from_secs(5)).await);
    assert!(start.elapsed() >= Duration::from_millis(900));
    // One that has delivered a frame is under the idle timeout from then on.
    assert!(!talker.closed_within(Duration::from_secs(2)).await);
    assert_eq!(
        field(&talker.send(&oru("TALK-2", "MRN-K")).await, "MSA", 1),
        "AA"
    );
    let m = metrics(&app).await;
    assert_eq!(
        metric(&m, "fhirgate_hl7_first_frame_timeouts_total"),
        2,
        "{m}"
    );
}
