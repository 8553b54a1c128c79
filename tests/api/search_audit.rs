//! Issue #3, AuditEvent search (http://hl7.org/fhir/R4/search.html over the
//! AuditEvent parameters, http://hl7.org/fhir/R4/auditevent.html#search).

use crate::helpers::*;
use crate::search_common::*;

/// The sorted matches of an AuditEvent search. The total is not compared with
/// the entries: AuditEvents are appended concurrently (by the auditing of these
/// very searches), so a count and a page read a moment apart may differ.
async fn aids(app: &TestApp, query: &str) -> Vec<String> {
    let b = search(app, query).await;
    assert_no_duplicates(&b, query);
    let mut out = match_ids(&b);
    out.sort();
    out
}

/// Polls an AuditEvent search until it has at least `n` matches (reads are
/// audited asynchronously).
async fn audit_ids(app: &TestApp, query: &str, n: usize) -> Vec<String> {
    for _ in 0..50 {
        let got = aids(app, &format!("AuditEvent?{query}")).await;
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("fewer than {n} AuditEvents for {query}");
}

#[tokio::test]
async fn audit_event_search() {
    let app = spawn_app().await;
    let (p, body) = app.create(&patient("Audit", "AE-1")).await;
    let (q, _) = app.create(&patient("Other", "AE-2")).await;
    assert_eq!(app.get(&format!("Patient/{p}")).await.status(), 200);
    let today = &body["meta"]["lastUpdated"].as_str().unwrap()[..10];

    // Token parameters on the projected columns (search.html#token).
    let read = audit_ids(&app, &format!("subtype=read&patient=Patient/{p}"), 1).await;
    assert_eq!(read.len(), 1, "one read of {p}");
    let rid = &read[0];
    assert_eq!(
        aids(
            &app,
            &format!("AuditEvent?type=rest&subtype=read&patient=Patient/{p}")
        )
        .await,
        read
    );
    assert_eq!(
        aids(&app, &format!("AuditEvent?type=http://terminology.hl7.org/CodeSystem/audit-event-type|rest&_id={rid}")).await,
        read
    );
    let rest = aids(&app, "AuditEvent?type=rest&_count=500").await;
    assert!(rest.contains(rid) && rest.len() >= 3, "{rest:?}");
    let r_events = aids(&app, &format!("AuditEvent?action=R&patient=Patient/{p}")).await;
    assert!(r_events.contains(rid), "{r_events:?}");
    let created = aids(&app, &format!("AuditEvent?action=C&patient=Patient/{p}")).await;
    assert_eq!(created.len(), 1, "one create of {p}");
    assert_eq!(
        aids(
            &app,
            &format!("AuditEvent?subtype=read&patient=Patient/{q}")
        )
        .await,
        NONE
    );

    // search.html#date on AuditEvent.recorded: everything happened today.
    let since = aids(&app, &format!("AuditEvent?date=ge{today}&_count=500")).await;
    assert!(since.contains(rid) && since.contains(&created[0]));
    assert_eq!(
        aids(&app, &format!("AuditEvent?date=lt{today}")).await,
        NONE
    );
    assert_eq!(
        aids(&app, &format!("AuditEvent?_id={rid}&date={today}")).await,
        read
    );

    // A non-PHI string parameter (AuditEvent address = agent.network.address,
    // "127.0.0.1" here): default starts-with, and :contains is allowed.
    assert_eq!(
        aids(&app, &format!("AuditEvent?_id={rid}&address=127.0")).await,
        read
    );
    assert_eq!(
        aids(&app, &format!("AuditEvent?_id={rid}&address=0.0.1")).await,
        NONE
    );
    assert_eq!(
        aids(
            &app,
            &format!("AuditEvent?_id={rid}&address:contains=0.0.1")
        )
        .await,
        read
    );
    assert_eq!(
        aids(&app, &format!("AuditEvent?_id={rid}&address:contains=10.9")).await,
        NONE
    );
}
