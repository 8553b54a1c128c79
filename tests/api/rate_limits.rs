//! Fairness (issue #18): token buckets per tenant and per client, charged by
//! cost (src/fhir/engine/cost.rs). Over HTTP, a spent budget is 429 with
//! Retry-After (RFC 6585 section 4, RFC 9110 section 10.2.3) and an
//! OperationOutcome `throttled`, audited; over MLLP, the ACK waits, and only a
//! full queue of waiting messages gets AE (207) at once.
//!
//! Rates here are small so that the bucket cannot refill between the
//! requests of a test, however slow the machine.

use std::time::{Duration, Instant};

use diesel::RunQueryDsl;
use serde_json::Value;

use crate::helpers::*;
use crate::hl7::oru;
use crate::hl7_client::*;

/// A client whose requests carry a `system/*.cruds` token of `client_id`.
fn client_of(app: &TestApp, client_id: &str) -> reqwest::Client {
    let (token, _) = app
        .authority
        .issue(fhirgate::auth::TokenSpec {
            sub: client_id.into(),
            client_id: client_id.into(),
            scope: "system/*.cruds".into(),
            ..Default::default()
        })
        .unwrap();
    reqwest::Client::builder()
        .default_headers(bearer_headers(&token))
        .build()
        .unwrap()
}

fn retry_after(resp: &reqwest::Response) -> u64 {
    resp.headers()
        .get("retry-after")
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Asserts a 429 with Retry-After (at least 1 s) and an OperationOutcome
/// `throttled`; returns the Retry-After.
async fn assert_throttled(resp: reqwest::Response) -> u64 {
    let secs = retry_after(&resp);
    assert!(secs >= 1, "Retry-After {secs}");
    let oo = assert_outcome(resp, 429).await;
    assert_eq!(oo["issue"][0]["code"], "throttled", "{oo}");
    secs
}

/// GET `path` as `client`, waiting out a 429 (the AuditEvent search of a test
/// whose budget was just spent).
async fn get_when_allowed(app: &TestApp, client: &reqwest::Client, path: &str) -> Value {
    for _ in 0..20 {
        let resp = client.get(app.url(path)).send().await.unwrap();
        if resp.status() == 429 {
            tokio::time::sleep(Duration::from_secs(retry_after(&resp))).await;
            continue;
        }
        assert_eq!(resp.status(), 200);
        return resp.json().await.unwrap();
    }
    panic!("{path} stayed throttled");
}

#[tokio::test]
async fn the_sixth_read_of_a_burst_of_five_is_429_and_audited() {
    let app = spawn_app_with(|s| {
        s.rates.tenant_per_sec = Some(1.0);
        s.rates.tenant_burst = Some(5.0);
    })
    .await;
    let (id, _) = app.create(&patient("Throttled", "RL-1")).await;
    // The create cost 2: let the bucket fill again (1 unit a second).
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let path = format!("Patient/{id}");
    let read = || app.get(&path);
    for n in 1..=5 {
        assert_eq!(read().await.status(), 200, "read {n}");
    }
    let secs = assert_throttled(read().await).await;
    tokio::time::sleep(Duration::from_secs(secs)).await;
    assert_eq!(read().await.status(), 200, "after Retry-After");

    // The refusal has its AuditEvent: a read, failed, with its status.
    let mut found = None;
    for _ in 0..50 {
        let v = get_when_allowed(&app, &app.client, "AuditEvent?subtype=read&outcome=4").await;
        if v["total"].as_i64().unwrap_or(0) >= 1 {
            found = Some(v);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let v = found.expect("an AuditEvent of the refused read");
    assert_eq!(v["total"], 1, "{v}");
    let e = &v["entry"][0]["resource"];
    assert_eq!(e["outcome"], "4");
    assert_eq!(e["outcomeDesc"], "HTTP 429");
    assert_eq!(e["action"], "R");
}

#[tokio::test]
async fn a_search_costs_five_reads() {
    // A unit every 10 s: nothing comes back during the test.
    let app = spawn_app_with(|s| {
        s.rates.tenant_per_sec = Some(0.1);
        s.rates.tenant_burst = Some(10.0);
    })
    .await;
    assert_eq!(app.get("Patient?name=nobody").await.status(), 200);
    assert_eq!(app.get("Observation?code=1234-5").await.status(), 200);
    // Ten units spent by two searches: the third waits for five units, a
    // read for one.
    let search_wait = assert_throttled(app.get("Patient?name=nobody").await).await;
    let read_wait = assert_throttled(app.get("Patient/none").await).await;
    assert!(search_wait >= 45, "{search_wait}");
    assert!(read_wait <= 10 && read_wait < search_wait, "{read_wait}");
}

#[tokio::test]
async fn each_client_has_its_own_budget_within_the_shared_tenant_budget() {
    let app = spawn_app_with(|s| {
        s.rates.tenant_per_sec = Some(0.01);
        s.rates.tenant_burst = Some(8.0);
        s.rates.client_per_sec = Some(0.01);
        s.rates.client_burst = Some(3.0);
    })
    .await;
    let (a, b, c) = (
        client_of(&app, "app-a"),
        client_of(&app, "app-b"),
        client_of(&app, "app-c"),
    );
    let read = |client: &reqwest::Client| client.get(app.url("Patient/none")).send();
    // Reads of a missing resource (404) cost as much as any read.
    for _ in 0..3 {
        assert_eq!(read(&a).await.unwrap().status(), 404);
    }
    // a's own budget is spent; the tenant's is not charged for the refusal.
    assert_throttled(read(&a).await.unwrap()).await;
    for _ in 0..3 {
        assert_eq!(read(&b).await.unwrap().status(), 404);
    }
    assert_throttled(read(&b).await.unwrap()).await;
    // Two of the tenant's eight units are left: c, with three of its own,
    // gets two.
    for _ in 0..2 {
        assert_eq!(read(&c).await.unwrap().status(), 404);
    }
    assert_throttled(read(&c).await.unwrap()).await;
    assert_throttled(app.get("Patient/none").await).await;
}

/// The cost of `message` as the listener charges it: its Bundle's, as over HTTP.
fn cost_of(message: &str) -> f64 {
    let msg = fhirgate_hl7::parse(message.as_bytes()).unwrap();
    let mapped = fhirgate_v2fhir::to_bundle(&msg, &Default::default()).unwrap();
    f64::from(fhirgate::fhir::engine::cost::bundle_cost(&mapped.bundle))
}

#[tokio::test]
async fn mllp_acks_slow_down_to_the_rate_and_all_are_accepted() {
    let cost = cost_of(&oru("RL-0", "RL-MRN-0"));
    // One message's worth a second, and a burst of one message.
    let app = spawn_app_with(|s| {
        s.rates.tenant_per_sec = Some(cost);
        s.rates.tenant_burst = Some(cost);
    })
    .await;
    let mut c = Mllp::connect(app.mllp_port()).await;
    let start = Instant::now();
    for n in 1..=3 {
        let ack = c
            .send(&oru(&format!("RL-{n}"), &format!("RL-MRN-{n}")))
            .await;
        assert_eq!(field(&ack, "MSA", 1), "AA", "{ack}");
    }
    // The first at once, the next two a second apart.
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_millis(1900), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}

#[tokio::test]
async fn a_full_hl7_queue_is_answered_ae_207_and_the_resend_is_accepted() {
    let cost = cost_of(&oru("RQ-0", "RQ-MRN-0"));
    // A message's worth every two seconds; one message may wait.
    let app = spawn_app_with(|s| {
        s.rates.tenant_per_sec = Some(cost / 2.0);
        s.rates.tenant_burst = Some(cost);
        s.rates.hl7_queue = 1;
    })
    .await;
    let port = app.mllp_port();
    let sends: Vec<_> = (1..=3)
        .map(|n| {
            tokio::spawn(async move {
                let message = oru(&format!("RQ-{n}"), &format!("RQ-MRN-{n}"));
                let mut c = Mllp::connect(port).await;
                (message.clone(), c.send(&message).await)
            })
        })
        .collect();
    let mut refused = Vec::new();
    let mut accepted = 0;
    for s in sends {
        let (message, ack) = s.await.unwrap();
        match field(&ack, "MSA", 1).as_str() {
            "AA" => accepted += 1,
            "AE" => {
                assert!(field(&ack, "ERR", 3).starts_with("207"), "{ack}");
                let err = segments(&ack, "ERR").join("\n");
                assert!(err.contains("resend it later"), "{ack}");
                refused.push(message);
            }
            other => panic!("{other}: {ack}"),
        }
    }
    // One went at once, one waited, the third found the queue full.
    assert_eq!((accepted, refused.len()), (2, 1));
    // Stored as not applied: its resend is a new delivery, and accepted.
    let mut c = Mllp::connect(port).await;
    let ack = c.send(&refused[0]).await;
    assert_eq!(field(&ack, "MSA", 1), "AA", "{ack}");
    let metrics = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("fhirgate_hl7_rate_queue_full_total 1"),
        "{metrics}"
    );
}

/// A flood over the limit is refused before its token is even looked at (so
/// a request without one gets 429 too, not 401), its answers held a moment
/// (limits/rate.rs `hold`), and audited as its first refusal in full and one
/// AuditEvent counting the rest, with the period they fell in
/// (src/audit/refusals.rs): every refusal accounted for, in two records.
#[tokio::test]
async fn a_flood_of_refusals_is_held_and_audited_as_its_first_and_one_count() {
    let app = spawn_app().await;
    let c = app.add_clinic("clinic-f").await;
    let id = c.create(&patient("Flooded", "RL-F")).await;
    let set_rate = |rate: f64, burst: f64| {
        let mut conn = app.conn();
        diesel::sql_query(format!(
            "UPDATE tenants SET rate_per_sec = {rate}, burst = {burst} WHERE id = 'clinic-f'"
        ))
        .execute(&mut conn)
        .unwrap();
    };
    // A unit every 20 s: nothing comes back during the flood.
    set_rate(0.05, 1.0);
    app.tenancy.refresh().await.unwrap();
    let path = format!("Patient/{id}");
    assert_eq!(c.get(&path).await.status(), 200, "the burst's one read");
    let started = Instant::now();
    let flood = (0..20).map(|_| c.get(&path));
    let answers = futures_util::future::join_all(flood).await;
    let held = started.elapsed();
    let mut refused = 0;
    for resp in answers {
        let secs = assert_throttled(resp).await;
        // Held 1 s of the 20 s wait: told the other 19.
        assert!((18..=20).contains(&secs), "Retry-After {secs}");
        refused += 1;
    }
    assert!(
        held >= Duration::from_millis(900),
        "answered after {held:?}"
    );
    let anonymous = reqwest::Client::new()
        .get(c.url(&path))
        .send()
        .await
        .unwrap();
    assert_throttled(anonymous).await;
    refused += 1;
    // What shutdown does: the counts still open are recorded. Then a budget
    // to read the audit trail with.
    app.tenancy.close_refusals(true).await;
    set_rate(1000.0, 1000.0);
    app.tenancy.refresh().await.unwrap();
    let mut found = Value::Null;
    for _ in 0..50 {
        found = c
            .get("AuditEvent?subtype=read&outcome=4")
            .await
            .json()
            .await
            .unwrap();
        if found["total"].as_i64().unwrap_or(0) >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(found["total"], 2, "{found}");
    let events: Vec<&Value> = found["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .collect();
    let (summed, single): (Vec<&Value>, Vec<&Value>) =
        events.into_iter().partition(|e| e.get("period").is_some());
    assert_eq!((summed.len(), single.len()), (1, 1), "{found}");
    assert_eq!(single[0]["outcomeDesc"], "HTTP 429");
    let desc = summed[0]["outcomeDesc"].as_str().unwrap();
    assert!(
        desc.starts_with(&format!("HTTP 429 to {} more requests", refused - 1)),
        "{desc}"
    );
    let period = &summed[0]["period"];
    assert!(period["start"].as_str().unwrap() <= period["end"].as_str().unwrap());
    // Refused before authentication: the client is not known.
    assert_eq!(
        summed[0]["agent"][0]["who"]["display"], "unauthenticated client",
        "{found}"
    );
}
