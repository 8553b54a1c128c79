//! Transactions under concurrency (issue #4, "Concurrency"): two transactions
//! that race on the same conditional create produce one resource, not two, and
//! a single conditional create racing them joins the same resource.

use crate::helpers::*;
use serde_json::{json, Value};

fn tx(i: usize) -> Value {
    json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": format!("urn:uuid:00000000-0000-4000-8000-{i:012}"),
         "resource": patient("Racer", "TX-RACE-1"),
         "request": {"method": "POST", "url": "Patient",
                     "ifNoneExist": "identifier=urn:oid:1.2.36.146.595.217.0.1|TX-RACE-1"}},
        {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": format!("race {i}")},
                      "subject": {"reference": format!("urn:uuid:00000000-0000-4000-8000-{i:012}")}},
         "request": {"method": "POST", "url": "Observation"}}
    ]})
}

#[tokio::test]
async fn racing_conditional_creates_in_transactions_make_one_patient() {
    let app = spawn_app().await;
    let mut tasks = Vec::new();
    for i in 0..12 {
        let (client, url, body) = (app.client.clone(), app.url(""), tx(i).to_string());
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .header("content-type", FHIR_JSON)
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            let b: Value = r.json().await.unwrap();
            let loc = b["entry"][0]["response"]["location"]
                .as_str()
                .unwrap()
                .to_owned();
            let status = b["entry"][0]["response"]["status"]
                .as_str()
                .unwrap()
                .to_owned();
            (status, loc.split("/_history").next().unwrap().to_owned())
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    // http.html#ccreate inside a transaction: one creates (201), the others find it (200).
    assert_eq!(
        results.iter().filter(|(s, _)| s.starts_with("201")).count(),
        1,
        "{results:?}"
    );
    assert!(
        results.iter().all(|(_, p)| *p == results[0].1),
        "{results:?}"
    );
    let found = app.get_value("Patient?identifier=TX-RACE-1").await;
    assert_eq!(found["total"], 1);
    // Every transaction's Observation points at that one Patient.
    let obs = app
        .get_value(&format!(
            "Observation?subject={}&_total=accurate",
            results[0].1
        ))
        .await;
    assert_eq!(obs["total"], 12);
}

/// Posts every Bundle at once (one task each); (status, body) in their order.
async fn post_all(app: &TestApp, bundles: impl Iterator<Item = Value>) -> Vec<(u16, String)> {
    let tasks: Vec<_> = bundles
        .map(|body| {
            let (client, url) = (app.client.clone(), app.url(""));
            tokio::spawn(async move {
                let r = client
                    .post(url)
                    .header("content-type", FHIR_JSON)
                    .body(body.to_string())
                    .send()
                    .await
                    .unwrap();
                (r.status().as_u16(), r.text().await.unwrap())
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

fn put_both(first: &str, second: &str, note: usize) -> Value {
    let entry = |mrn: &str| {
        let mut p = patient("Swap", mrn);
        p["gender"] = json!(if note % 2 == 0 { "female" } else { "male" });
        json!({"resource": p, "request": {"method": "PUT",
            "url": format!("Patient?identifier=urn:oid:1.2.36.146.595.217.0.1|{mrn}")}})
    };
    json!({"resourceType": "Bundle", "type": "transaction",
           "entry": [entry(first), entry(second)]})
}

/// Transactions that name the same conditionals in opposite orders queue behind
/// each other instead of deadlocking (PostgreSQL would abort one of them): a
/// transaction's conditional locks are taken together, in lock-id order.
#[tokio::test]
async fn conditionals_in_opposite_orders_do_not_deadlock() {
    let app = spawn_app().await;
    let bundles = (0..16).map(|i| {
        if i % 2 == 0 {
            put_both("SWAP-A", "SWAP-B", i)
        } else {
            put_both("SWAP-B", "SWAP-A", i)
        }
    });
    for (status, body) in post_all(&app, bundles).await {
        assert_eq!(status, 200, "{body}");
    }
    for mrn in ["SWAP-A", "SWAP-B"] {
        let found = app
            .get_value(&format!("Patient?identifier={mrn}&_total=accurate"))
            .await;
        assert_eq!(found["total"], 1, "{mrn}: {found}");
        // Sixteen writes of one resource: one create and fifteen updates.
        assert_eq!(found["entry"][0]["resource"]["meta"]["versionId"], "16");
    }
}

/// More conditional updates than one lookup statement serves (they go in
/// chunks): a second delivery of the same Bundle updates each entry's own
/// resource, none of another entry's.
#[tokio::test]
async fn many_conditional_updates_each_find_their_own_resource() {
    let app = spawn_app().await;
    let bundle = |status: &str| {
        let entries: Vec<Value> = (0..45)
            .map(|i| {
                json!({"resource": {"resourceType": "Observation", "status": status,
                         "identifier": [{"system": "urn:example:obs", "value": format!("OBS-{i}")}],
                         "code": {"text": format!("test {i}")}},
                       "request": {"method": "PUT",
                         "url": format!("Observation?identifier=urn:example:obs|OBS-{i}")}})
            })
            .collect();
        json!({"resourceType": "Bundle", "type": "transaction", "entry": entries})
    };
    let locations = |b: &Value| -> Vec<(String, String)> {
        b["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let loc = e["response"]["location"].as_str().unwrap();
                let (path, version) = loc.split_once("/_history/").unwrap();
                (path.to_owned(), version.to_owned())
            })
            .collect()
    };
    let first: Value = app
        .post_json("", &bundle("preliminary"))
        .await
        .json()
        .await
        .unwrap();
    let second: Value = app
        .post_json("", &bundle("final"))
        .await
        .json()
        .await
        .unwrap();
    let (a, b) = (locations(&first), locations(&second));
    assert_eq!(a.len(), 45);
    for (i, ((pa, va), (pb, vb))) in a.iter().zip(&b).enumerate() {
        assert_eq!(pa, pb, "entry {i} updated another resource");
        assert_eq!((va.as_str(), vb.as_str()), ("1", "2"), "entry {i}");
        let obs = app.get_value(pb).await;
        assert_eq!(obs["code"]["text"], format!("test {i}"));
        assert_eq!(obs["status"], "final");
    }
}

fn put_ids(first: &str, second: &str, note: usize) -> Value {
    let entry = |id: &str| {
        let mut p = patient("Deadlock", id);
        p["id"] = json!(id);
        p["gender"] = json!(if note % 2 == 0 { "female" } else { "male" });
        json!({"resource": p, "request": {"method": "PUT", "url": format!("Patient/{id}")}})
    };
    json!({"resourceType": "Bundle", "type": "transaction",
           "entry": [entry(first), entry(second)]})
}

/// Transactions updating the same two resources in opposite entry orders: each
/// takes its row locks together, in (type, id) order, so they queue instead of
/// deadlocking (with the locks taken in entry order, PostgreSQL aborted one of
/// each pair, and three attempts did not get all sixteen through).
#[tokio::test]
async fn updates_in_opposite_orders_do_not_deadlock() {
    let app = spawn_app().await;
    for id in ["dl-a", "dl-b"] {
        let mut p = patient("Deadlock", id);
        p["id"] = json!(id);
        assert_eq!(
            app.put_json(&format!("Patient/{id}"), &p).await.status(),
            201
        );
    }
    let bundles = (0..16).map(|i| {
        if i % 2 == 0 {
            put_ids("dl-a", "dl-b", i)
        } else {
            put_ids("dl-b", "dl-a", i)
        }
    });
    for (status, body) in post_all(&app, bundles).await {
        assert_eq!(status, 200, "{body}");
    }
    for id in ["dl-a", "dl-b"] {
        let p = app.get_value(&format!("Patient/{id}")).await;
        assert_eq!(p["meta"]["versionId"], "17", "{id}");
    }
}
