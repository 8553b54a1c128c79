//! The engine's one decision point (src/fhir/engine/access.rs, issue #16):
//! every route and every Bundle entry kind, run by a principal refused
//! everything, lets no resource body out and audits each refusal; a
//! principal that may search but read nothing gets searchsets, `_include`s,
//! `$everything` and histories without a single resource in them.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use fhirgate::fhir::engine::{Action, Principal};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::hl7_client::Mllp;

const ALLOW: u8 = 0;
const REFUSE: u8 = 1;
const SEARCH_ONLY: u8 = 2;
/// In every resource written below: no answer may hold it while refused.
const MARKER: &str = "Zzyzxrefused";

/// A gateway whose principal is switched between the three modes.
async fn app() -> (TestApp, Arc<AtomicU8>) {
    let mode = Arc::new(AtomicU8::new(ALLOW));
    let m = mode.clone();
    let principal = Principal::with_rule("test", move |a| match m.load(Ordering::SeqCst) {
        ALLOW => true,
        SEARCH_ONLY => a.action == Action::Search,
        _ => false,
    });
    (spawn_app_as(|_| {}, principal).await, mode)
}

async fn seed(app: &TestApp) -> (String, String) {
    let (pid, _) = app.create(&patient(MARKER, "MRN-DP-1")).await;
    let obs = json!({"resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}], "text": MARKER},
        "subject": {"reference": format!("Patient/{pid}")},
        "valueQuantity": {"value": 72, "unit": "/min"}});
    let (oid, _) = app.create(&obs).await;
    (pid, oid)
}

/// Sends one request and returns its status and body text.
async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    body: Option<(&str, Value)>,
) -> (u16, String) {
    let url = app.url(path.trim_start_matches('/'));
    let mut req = app
        .client
        .request(method.parse().unwrap(), &url)
        .header("accept", FHIR_JSON);
    if let Some((ct, b)) = body {
        req = req.header("content-type", ct).body(b.to_string());
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap())
}

fn bundle_entries(kind: &str, pid: &str, oid: &str) -> Value {
    json!({"resourceType": "Bundle", "type": kind, "entry": [
        {"fullUrl": "urn:uuid:0d0a7f0e-8f6b-4d5e-9a55-3f1f00000001",
         "resource": patient(MARKER, "MRN-DP-2"),
         "request": {"method": "POST", "url": "Patient", "ifNoneExist": "identifier=urn:oid:1.2.36.146.595.217.0.1|MRN-DP-2"}},
        {"resource": {"resourceType": "Patient", "id": pid, "name": [{"family": MARKER}]},
         "request": {"method": "PUT", "url": format!("Patient/{pid}")}},
        {"resource": {"resourceType": "Parameters", "parameter": [{"name": "operation", "part": [
            {"name": "type", "valueCode": "replace"}, {"name": "path", "valueString": "Observation.status"},
            {"name": "value", "valueCode": "amended"}]}]},
         "request": {"method": "PATCH", "url": format!("Observation/{oid}")}},
        {"request": {"method": "GET", "url": format!("Patient/{pid}")}},
        {"request": {"method": "GET", "url": format!("Observation?subject=Patient/{pid}&_include=Observation:subject")}},
        {"request": {"method": "DELETE", "url": format!("Observation/{oid}")}}
    ]})
}

/// Every route of http.html#summary and operation the gateway serves.
/// (method, path, optional (Content-Type, body)).
type Route = (&'static str, String, Option<(&'static str, Value)>);

fn routes(pid: &str, oid: &str) -> Vec<Route> {
    let fj = "application/fhir+json";
    vec![
        ("GET", format!("/Patient/{pid}"), None),
        ("GET", format!("/Patient/{pid}/_history/1"), None),
        ("GET", format!("/Patient/{pid}/_history"), None),
        ("GET", "/Patient/_history".into(), None),
        ("GET", format!("/Observation?subject=Patient/{pid}&_include=Observation:subject&_revinclude=Observation:subject"), None),
        ("GET", format!("/Observation?subject:Patient.family={MARKER}"), None),
        ("GET", format!("/Patient?_has:Observation:subject:code=8867-4&_id={pid}"), None),
        ("POST", "/Patient/_search".into(), None),
        ("POST", "/Patient".into(), Some((fj, patient(MARKER, "MRN-DP-3")))),
        ("PUT", format!("/Patient/{pid}"), Some((fj, json!({"resourceType": "Patient", "id": pid, "name": [{"family": MARKER}]})))),
        ("PUT", "/Patient?identifier=MRN-DP-1".into(), Some((fj, patient(MARKER, "MRN-DP-1")))),
        ("PATCH", format!("/Observation/{oid}"), Some(("application/json-patch+json", json!([{"op": "replace", "path": "/status", "value": "amended"}])))),
        ("DELETE", format!("/Observation/{oid}"), None),
        ("DELETE", "/Patient?identifier=MRN-DP-1".into(), None),
        ("GET", format!("/Patient/{pid}/$everything"), None),
        ("GET", "/Patient/$everything".into(), None),
        ("GET", format!("/AuditEvent?entity=Patient/{pid}"), None),
        ("POST", "".into(), Some((fj, bundle_entries("transaction", pid, oid)))),
    ]
}

async fn audit_failures(app: &TestApp) -> Vec<Value> {
    // The read AuditEvents are written in batches: wait for them to land.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mut out = Vec::new();
    let mut url = app.url("AuditEvent?outcome=4&_count=1000");
    loop {
        let b = app.follow(&url).await;
        out.extend(
            b["entry"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|e| e["resource"].clone()),
        );
        match b["link"]
            .as_array()
            .and_then(|l| l.iter().find(|l| l["relation"] == "next"))
        {
            Some(n) => url = n["url"].as_str().unwrap().to_owned(),
            None => return out,
        }
    }
}

fn entities(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .flat_map(|e| e["entity"].as_array().cloned().unwrap_or_default())
        .filter_map(|en| en["what"]["reference"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_principal_refused_everything_gets_no_resource_and_every_refusal_is_audited() {
    let (app, mode) = app().await;
    let (pid, oid) = seed(&app).await;
    let before = audit_failures(&app).await.len();
    mode.store(REFUSE, Ordering::SeqCst);
    let routes = routes(&pid, &oid);
    for (method, path, body) in &routes {
        let (status, text) = send(&app, method, path, body.clone()).await;
        assert_eq!(status, 403, "{method} {path} answered {status}: {text}");
        assert!(
            !text.contains(MARKER),
            "{method} {path} let a body out: {text}"
        );
        assert!(text.contains("\"forbidden\""), "{method} {path}: {text}");
    }
    // A batch answers each entry: every one refused, none with a resource.
    let (status, text) = send(
        &app,
        "POST",
        "",
        Some(("application/fhir+json", bundle_entries("batch", &pid, &oid))),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    assert!(!text.contains(MARKER), "{text}");
    let batch: Value = serde_json::from_str(&text).unwrap();
    for e in batch["entry"].as_array().unwrap() {
        assert_eq!(e["response"]["status"], "403 Forbidden", "{e}");
        assert!(e.get("resource").is_none(), "{e}");
    }
    // System history: nothing decided up front, every version refused.
    let (status, text) = send(&app, "GET", "/_history", None).await;
    assert_eq!(status, 200, "{text}");
    assert!(!text.contains(MARKER), "{text}");
    assert!(
        serde_json::from_str::<Value>(&text).unwrap()["entry"]
            .as_array()
            .is_none_or(|e| e.is_empty()),
        "{text}"
    );
    // HL7 v2: the mapped resources may not be written, so the message is rejected.
    let mut mllp = Mllp::connect(app.mllp_port()).await;
    let ack = mllp.send(&crate::hl7::oru("DP-1", "MRN-DP-9")).await;
    assert!(ack.contains("|AR|") || ack.contains("MSA|AR"), "{ack}");

    mode.store(ALLOW, Ordering::SeqCst);
    let refused = audit_failures(&app).await;
    // One AuditEvent per refused request at least (each route, the batch's
    // entries, the system history's versions, the HL7 message) ...
    let n = routes.len() + 6 + 1 + 1;
    assert!(
        refused.len() - before >= n,
        "{} refusals audited, {n} expected at least",
        refused.len() - before
    );
    // ... and the resources refused one by one are named in them.
    let named = entities(&refused);
    for r in [format!("Patient/{pid}"), format!("Observation/{oid}")] {
        assert!(
            named.contains(&r),
            "{r} not among the audited refusals: {named:?}"
        );
    }
    // Nothing was changed by the refused writes.
    let p = app.get_value(&format!("Patient/{pid}")).await;
    assert_eq!(p["meta"]["versionId"], "1", "{p}");
    let o = app.get_value(&format!("Observation/{oid}")).await;
    assert_eq!(o["status"], "final", "{o}");
}

#[tokio::test]
async fn a_principal_that_may_search_but_not_read_gets_empty_results_and_audited_refusals() {
    let (app, mode) = app().await;
    let (pid, oid) = seed(&app).await;
    mode.store(SEARCH_ONLY, Ordering::SeqCst);
    for path in [
        format!("/Observation?subject=Patient/{pid}&_include=Observation:subject"),
        format!("/Patient?_id={pid}&_revinclude=Observation:subject"),
        format!(
            "/Observation?subject:Patient.family={MARKER}&_include:iterate=Observation:subject"
        ),
        format!("/Patient/{pid}/_history"),
        "/_history".to_owned(),
        "/Observation/_history".to_owned(),
    ] {
        let (status, text) = send(&app, "GET", &path, None).await;
        if path.starts_with(&format!("/Patient/{pid}/")) {
            // An instance's history is a read of that resource.
            assert_eq!(status, 403, "{path}: {text}");
        } else {
            assert_eq!(status, 200, "{path}: {text}");
            let b: Value = serde_json::from_str(&text).unwrap();
            let resources: Vec<&Value> = b["entry"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|e| e["resource"]["resourceType"] != "OperationOutcome")
                .filter(|e| e.get("resource").is_some())
                .collect();
            assert!(resources.is_empty(), "{path}: {text}");
            // The links echo the client's own query; the entries hold no content.
            assert!(!b["entry"].to_string().contains(MARKER), "{path}: {text}");
        }
    }
    // $everything's compartment query is a search; its members are reads.
    let (status, text) = send(&app, "GET", "/Patient/$everything", None).await;
    assert_eq!(status, 200, "{text}");
    assert!(!text.contains(MARKER), "{text}");
    // A transaction's GET search entry: a searchset without resources.
    let tx = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": format!("Observation?subject=Patient/{pid}&_include=Observation:subject")}}]});
    let (status, text) = send(&app, "POST", "", Some(("application/fhir+json", tx))).await;
    assert_eq!(status, 200, "{text}");
    assert!(!text.contains(MARKER), "{text}");
    mode.store(ALLOW, Ordering::SeqCst);
    let named = entities(&audit_failures(&app).await);
    for r in [format!("Patient/{pid}"), format!("Observation/{oid}")] {
        assert!(
            named.iter().filter(|n| **n == r).count() >= 3,
            "{r}: {named:?}"
        );
    }
}
