//! The limiter on a clock of its own: instants are given, not waited for
//! (`try_take_at`), but for the queue, which waits for real (briefly).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use super::*;

fn tenant(name: &str) -> TenantId {
    TenantId::parse(name).unwrap()
}

fn rates(tenant: (f64, f64), client: Option<(f64, f64)>) -> Rates {
    Rates {
        tenant_per_sec: Some(tenant.0),
        tenant_burst: Some(tenant.1),
        client_per_sec: client.map(|c| c.0),
        client_burst: client.map(|c| c.1),
        hl7_queue: 1,
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn unlimited_by_default() {
    let l = Limiter::unlimited();
    let t = tenant("a");
    for _ in 0..10_000 {
        assert_eq!(l.try_take(&t, Some("client"), 1_000), Ok(()));
    }
    // Nothing is kept for an unlimited tenant or its clients.
    assert_eq!(l.lock().clients, 0);
    assert!(l.lock().tenants.is_empty());
}

#[test]
fn buckets_refill_continuously_up_to_the_burst() {
    let l = Limiter::new(rates((10.0, 5.0), None));
    let t = tenant("a");
    let t0 = Instant::now();
    for _ in 0..5 {
        assert_eq!(l.try_take_at(t0, &t, None, 1), Ok(()));
    }
    // Empty: one token comes back every 100 ms.
    let wait = l.try_take_at(t0, &t, None, 1).unwrap_err();
    assert!(wait > ms(99) && wait <= ms(100), "{wait:?}");
    assert!(l.try_take_at(t0 + ms(50), &t, None, 1).is_err());
    assert_eq!(l.try_take_at(t0 + ms(100), &t, None, 1), Ok(()));
    // A long pause refills the burst, no more.
    let later = t0 + Duration::from_secs(60);
    for _ in 0..5 {
        assert_eq!(l.try_take_at(later, &t, None, 1), Ok(()));
    }
    assert!(l.try_take_at(later, &t, None, 1).is_err());
    // Another tenant has a bucket of its own.
    assert_eq!(l.try_take_at(later, &tenant("b"), None, 5), Ok(()));
}

#[test]
fn a_cost_above_the_burst_runs_on_a_full_bucket_and_leaves_a_debt() {
    let l = Limiter::new(rates((10.0, 5.0), None));
    let t = tenant("a");
    let t0 = Instant::now();
    assert_eq!(l.try_take_at(t0, &t, None, 25), Ok(()));
    // 20 in debt, and 1 to have: 2.1 s.
    let wait = l.try_take_at(t0, &t, None, 1).unwrap_err();
    assert_eq!(retry_after_secs(wait), 3);
    assert!(wait > ms(2090) && wait <= ms(2100), "{wait:?}");
    assert_eq!(l.try_take_at(t0 + ms(2100), &t, None, 1), Ok(()));
}

#[test]
fn the_tenant_and_the_client_bucket_are_charged_together_or_not_at_all() {
    // The tenant refills fast, clients slowly (one token in 1000 s).
    let l = Limiter::new(rates((100.0, 3.0), Some((0.001, 2.0))));
    let t = tenant("a");
    let t0 = Instant::now();
    assert_eq!(l.try_take_at(t0, &t, Some("a"), 2), Ok(()));
    // Refused by its own bucket: the tenant's one token is not spent...
    let wait = l.try_take_at(t0, &t, Some("a"), 1).unwrap_err();
    assert!(wait > Duration::from_secs(900), "{wait:?}");
    // ...so b has it.
    assert_eq!(l.try_take_at(t0, &t, Some("b"), 1), Ok(()));
    // Refused by the empty tenant: b's own last token is not spent...
    let wait = l.try_take_at(t0, &t, Some("b"), 1).unwrap_err();
    assert!(wait <= ms(10), "{wait:?}");
    // ...so b has it once the tenant refilled.
    assert_eq!(l.try_take_at(t0 + ms(10), &t, Some("b"), 1), Ok(()));
    assert!(l.try_take_at(t0 + ms(1000), &t, Some("b"), 1).is_err());
    // Without a client, the tenant's bucket only.
    assert_eq!(l.try_take_at(t0 + ms(1000), &t, None, 3), Ok(()));
}

#[test]
fn idle_client_buckets_are_dropped_and_debts_are_not_forgotten() {
    let l = Limiter::new(rates((1000.0, 1000.0), Some((0.01, 1.0))));
    let t = tenant("a");
    let t0 = Instant::now();
    for c in ["a", "b", "c"] {
        assert_eq!(l.try_take_at(t0, &t, Some(c), 1), Ok(()));
    }
    // 100 units: 10,000 s of debt at 0.01/s.
    assert_eq!(l.try_take_at(t0, &t, Some("debtor"), 100), Ok(()));
    assert_eq!(l.lock().clients, 4);
    // Eleven minutes on, the next take sweeps: a, b and c are full again (6.6
    // tokens' worth refilled, their burst is 1) and forgotten; the debtor is not.
    let later = t0 + Duration::from_secs(11 * 60);
    assert_eq!(l.try_take_at(later, &t, Some("d"), 1), Ok(()));
    let s = l.lock();
    assert_eq!(s.clients, 2);
    let kept = &s.tenants.get(&t).unwrap().clients;
    assert!(kept.contains_key("debtor") && kept.contains_key("d"));
    drop(s);
    assert!(l.try_take_at(later, &t, Some("debtor"), 1).is_err());
}

#[test]
fn tenants_are_configured_on_their_own() {
    let l = Limiter::new(rates((10.0, 1.0), None));
    let (a, b) = (tenant("a"), tenant("b"));
    let t0 = Instant::now();
    l.configure(&a, Some(Rates::default()));
    assert_eq!(l.rates(&a), Rates::default());
    assert_eq!(l.rates(&b).tenant_per_sec, Some(10.0));
    for _ in 0..100 {
        assert_eq!(l.try_take_at(t0, &a, None, 10), Ok(()));
    }
    assert_eq!(l.try_take_at(t0, &b, None, 1), Ok(()));
    assert!(l.try_take_at(t0, &b, None, 1).is_err());
    // Back to the defaults.
    l.configure(&a, None);
    assert_eq!(l.try_take_at(t0, &a, None, 1), Ok(()));
    assert!(l.try_take_at(t0, &a, None, 1).is_err());
}

#[test]
fn burst_defaults_to_two_seconds_and_bad_rates_mean_unlimited() {
    let two_s = Limit::of(Some(4.0), None).unwrap();
    assert!((two_s.burst - 8.0).abs() < f64::EPSILON);
    assert!(Limit::of(Some(0.0), Some(1.0)).is_none());
    assert!(Limit::of(Some(f64::NAN), None).is_none());
    assert!(Limit::of(None, Some(5.0)).is_none());
    let l = Limit::of(Some(1e-300), Some(1.0)).unwrap();
    let b = Bucket {
        tokens: 0.0,
        last: Instant::now(),
    };
    assert_eq!(b.wait(l, 1.0), MAX_WAIT);
}

#[test]
fn retry_after_is_whole_seconds_rounded_up() {
    assert_eq!(retry_after_secs(Duration::ZERO), 1);
    assert_eq!(retry_after_secs(ms(200)), 1);
    assert_eq!(retry_after_secs(ms(1000)), 1);
    assert_eq!(retry_after_secs(ms(1001)), 2);
}

#[tokio::test]
async fn hl7_messages_wait_for_tokens_within_the_tenant_queue() {
    // One token per 200 ms, one waiting message at most.
    let l = Arc::new(Limiter::new(rates((5.0, 1.0), None)));
    let t = tenant("a");
    let start = Instant::now();
    assert!(l.take_waiting(&t, Some("LAB|X"), 1).await.unwrap() < ms(10));
    let waiter = {
        let (l, t) = (l.clone(), t.clone());
        tokio::spawn(async move { l.take_waiting(&t, Some("LAB|X"), 1).await })
    };
    tokio::time::sleep(ms(50)).await;
    assert_eq!(l.waiting(&t), 1);
    // The queue is full: answered at once.
    assert_eq!(l.take_waiting(&t, Some("ADT|Y"), 1).await, Err(QueueFull));
    let waited = waiter.await.unwrap().unwrap();
    assert!(waited >= ms(190), "{waited:?}");
    assert!(start.elapsed() >= ms(190), "{:?}", start.elapsed());
    assert_eq!(l.waiting(&t), 0);
    // A wait given up leaves the queue.
    let gave_up = tokio::time::timeout(ms(20), l.take_waiting(&t, None, 1)).await;
    assert!(gave_up.is_err());
    assert_eq!(l.waiting(&t), 0);
    // A queue of 0 waits for nothing.
    let mut none = rates((5.0, 1.0), None);
    none.hl7_queue = 0;
    l.configure(&t, Some(none));
    assert_eq!(l.take_waiting(&t, None, 1).await, Err(QueueFull));
}

#[test]
fn a_tenant_in_debt_is_refused_before_its_cost_is_known() {
    let l = Limiter::new(rates((10.0, 5.0), None));
    let (a, b) = (tenant("a"), tenant("b"));
    let t0 = Instant::now();
    // Nothing taken yet: nothing to refuse.
    assert_eq!(l.tenant_wait_at(t0, &a, 1), None);
    assert_eq!(l.try_take_at(t0, &a, None, 5), Ok(()));
    // Empty: 1 token is 100 ms away at 10/s; the other tenant is untouched.
    let about = |w: Option<Duration>, want: u64| {
        w.is_some_and(|w| w.abs_diff(ms(want)) < Duration::from_micros(10))
    };
    assert!(about(l.tenant_wait_at(t0, &a, 1), 100));
    assert_eq!(l.tenant_wait_at(t0, &b, 1), None);
    // Asking takes nothing: the wait shrinks with time only.
    assert!(about(l.tenant_wait_at(t0 + ms(50), &a, 1), 50));
    assert!(about(l.tenant_wait_at(t0 + ms(50), &a, 1), 50));
    // A search (5) waits for five units: 450 ms from there.
    assert!(about(l.tenant_wait_at(t0 + ms(50), &a, 5), 450));
    assert_eq!(l.tenant_wait_at(t0 + ms(100), &a, 1), None);
    assert_eq!(l.try_take_at(t0 + ms(100), &a, None, 1), Ok(()));
}
