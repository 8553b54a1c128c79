//! The cross-tenant attack table of issue #18, over the audit trail: each
//! tenant sees its own AuditEvents only, and one of B's AuditEvents read at
//! A's base is 404 as an id that exists nowhere.

use reqwest::Method;
use serde_json::Value;

use crate::search_common::sorted;
use crate::tenancy_attacks_support::{assert_no_mention, same_as_control, unknown_id, world, Side};

/// All AuditEvents a side sees (reads are audited asynchronously: polled
/// until at least `min` are there).
async fn audit_events(side: &Side, query: &str, min: usize) -> Vec<Value> {
    for _ in 0..50 {
        let b = side.ok(&format!("AuditEvent?_count=1000&{query}")).await;
        let events: Vec<Value> = b["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["resource"]["resourceType"] == "AuditEvent")
            .map(|e| e["resource"].clone())
            .collect();
        if events.len() >= min {
            return events;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("fewer than {min} AuditEvents for {query} at {}", side.base);
}

fn ids(events: &[Value]) -> Vec<String> {
    sorted(
        events
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect(),
    )
}

/// 6. Each tenant's AuditEvents are its own: a search at A finds none of
///    B's (none names B's resources or patients) and a read of one of B's
///    AuditEvents at A is 404, as for an id that exists nowhere.
#[tokio::test]
async fn each_clinic_sees_its_own_audit_trail_only() {
    let w = world().await;
    let (a, b, da, db) = (&w.a, &w.b, &w.da, &w.db);
    assert_eq!(
        a.get(&format!("Patient/{}", da.patient)).await.status(),
        200
    );
    for _ in 0..3 {
        assert_eq!(
            b.get(&format!("Patient/{}", db.patient)).await.status(),
            200
        );
    }
    let b_reads = audit_events(
        b,
        &format!("subtype=read&patient=Patient/{}", db.patient),
        3,
    )
    .await;
    let a_reads = audit_events(
        a,
        &format!("subtype=read&patient=Patient/{}", da.patient),
        1,
    )
    .await;
    // The counts are each tenant's own: one read at A, three at B.
    assert_eq!((a_reads.len(), b_reads.len()), (1, 3));
    let a_all = audit_events(a, "", 5).await;
    let b_all = audit_events(b, "", 7).await;
    assert_no_mention(
        &Value::Array(a_all.clone()),
        &db.secrets(),
        "A's AuditEvents",
    );
    assert_no_mention(
        &Value::Array(b_all.clone()),
        &da.secrets(),
        "B's AuditEvents",
    );
    let (a_ids, b_ids) = (ids(&a_all), ids(&b_all));
    assert!(
        a_ids.iter().all(|i| !b_ids.contains(i)),
        "{a_ids:?} {b_ids:?}"
    );
    // The default tenant sees neither clinic's.
    let d = Side::default_of(&w.app);
    let d_all = d.ok("AuditEvent?_count=1000").await;
    assert_no_mention(
        &d_all["entry"],
        &da.secrets(),
        "the default tenant's AuditEvents",
    );
    assert_no_mention(
        &d_all["entry"],
        &db.secrets(),
        "the default tenant's AuditEvents",
    );
    // Searches at A naming B's resources: nothing.
    for q in [
        format!("patient=Patient/{}", db.patient),
        format!("entity=Patient/{}", db.patient),
        format!("entity=Observation/{}", db.obs),
        format!("_id={}", b_reads[0]["id"].as_str().unwrap()),
    ] {
        let got = a.ok(&format!("AuditEvent?{q}")).await;
        assert_eq!(got["total"], 0, "AuditEvent?{q} at A: {got}");
    }
    let got = b
        .ok(&format!("AuditEvent?patient=Patient/{}", da.patient))
        .await;
    assert_eq!(got["total"], 0, "A's patient in B's trail: {got}");
    // Read and vread of B's AuditEvent at A: 404 like an unknown id.
    let bid = b_reads[0]["id"].as_str().unwrap();
    assert_eq!(b.get(&format!("AuditEvent/{bid}")).await.status(), 200);
    for suffix in ["", "/_history/1"] {
        let got = same_as_control(
            a,
            Method::GET,
            |i| format!("AuditEvent/{i}{suffix}"),
            bid,
            &unknown_id(),
            &[],
            |_| None,
        )
        .await;
        assert_eq!(got.status, 404, "{got:?}");
    }
    // A's attempt on B's patient is A's event: audited at A, and B's trail
    // of that patient does not change.
    let of_b = format!("patient=Patient/{}", db.patient);
    let b_before = audit_events(b, &of_b, 1).await.len();
    let a_before = audit_events(a, "", 1).await.len();
    assert_eq!(
        a.get(&format!("Patient/{}", db.patient)).await.status(),
        404
    );
    audit_events(a, "", a_before + 1).await;
    assert_eq!(audit_events(b, &of_b, 1).await.len(), b_before);
}
