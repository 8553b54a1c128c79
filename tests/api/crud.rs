//! The REST interactions, from http://hl7.org/fhir/R4/http.html.

use crate::helpers::*;
use serde_json::{json, Value};

#[tokio::test]
async fn create_read_update_delete_cycle() {
    let app = spawn_app().await;
    let resp = app
        .post_json("Patient", &patient("Chalmers", "12345"))
        .await;
    // create: 201, Location with _history, ETag and Last-Modified (http.html#create).
    assert_eq!(resp.status(), 201);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(resp.headers()["etag"], "W/\"1\"");
    assert!(resp.headers().contains_key("last-modified"));
    let created: Value = resp.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    assert_eq!(location, format!("{}/Patient/{id}/_history/1", app.base));
    assert_eq!(created["meta"]["versionId"], "1");
    assert!(created["meta"]["lastUpdated"]
        .as_str()
        .unwrap()
        .ends_with('Z'));

    // If-None-Match with the current ETag: 304 Not Modified (http.html#read, RFC 7232).
    let same = app
        .client
        .get(app.url(&format!("Patient/{id}")))
        .header("if-none-match", "W/\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), 304);
    assert!(same.bytes().await.unwrap().is_empty());
    let read = app.get(&format!("Patient/{id}")).await;
    assert_eq!(read.status(), 200);
    assert_eq!(read.headers()["etag"], "W/\"1\"");
    assert_eq!(read.json::<Value>().await.unwrap(), created);

    let mut changed = created.clone();
    changed["gender"] = json!("other");
    let upd = app.put_json(&format!("Patient/{id}"), &changed).await;
    assert_eq!(upd.status(), 200);
    assert_eq!(upd.headers()["etag"], "W/\"2\"");
    let v2: Value = upd.json().await.unwrap();
    assert_eq!(v2["meta"]["versionId"], "2");
    assert_eq!(v2["gender"], "other");

    // vread keeps the old version.
    let v1 = app.get_value(&format!("Patient/{id}/_history/1")).await;
    assert_eq!(v1["gender"], "female");
    assert_outcome(app.get(&format!("Patient/{id}/_history/9")).await, 404).await;

    let del = app.delete(&format!("Patient/{id}")).await;
    assert_eq!(del.status(), 204);
    // After delete, read gives 410 Gone (http.html#delete).
    assert_outcome(app.get(&format!("Patient/{id}")).await, 410).await;
    // Deleting again changes nothing.
    assert_eq!(app.delete(&format!("Patient/{id}")).await.status(), 204);
    assert_outcome(app.delete("Patient/never-was").await, 404).await;
    // The deleted version itself is gone too (http.html#vread).
    assert_outcome(app.get(&format!("Patient/{id}/_history/3")).await, 410).await;

    // An update brings it back as a new version.
    let back = app.put_json(&format!("Patient/{id}"), &changed).await;
    assert_eq!(back.status(), 201);
    assert_eq!(
        back.json::<Value>().await.unwrap()["meta"]["versionId"],
        "4"
    );
}

#[tokio::test]
async fn update_as_create_and_id_rules() {
    let app = spawn_app().await;
    let mut p = patient("Nakamura", "A-1");
    p["id"] = json!("client-chosen.1");
    let resp = app.put_json("Patient/client-chosen.1", &p).await;
    assert_eq!(resp.status(), 201);
    assert_eq!(
        resp.headers()["location"].to_str().unwrap(),
        format!("{}/Patient/client-chosen.1/_history/1", app.base)
    );
    // Body id different from URL id: 400 (http.html#update).
    p["id"] = json!("other");
    assert_outcome(app.put_json("Patient/client-chosen.1", &p).await, 400).await;
    // Body without id on update: 400.
    let mut no_id = p.clone();
    no_id.as_object_mut().unwrap().remove("id");
    assert_outcome(app.put_json("Patient/client-chosen.1", &no_id).await, 400).await;
    // A client id on create is ignored (http.html#create).
    let mut with_id = patient("Nakamura", "A-2");
    with_id["id"] = json!("ignored");
    let (id, _) = app.create(&with_id).await;
    assert_ne!(id, "ignored");
}

#[tokio::test]
async fn if_match_guards_updates() {
    let app = spawn_app().await;
    let (id, body) = app.create(&patient("Okafor", "B-1")).await;
    let path = format!("Patient/{id}");
    let put = |etag: &'static str| {
        app.client
            .put(app.url(&path))
            .header("content-type", FHIR_JSON)
            .header("if-match", etag)
            .body(body.to_string())
    };
    assert_eq!(put("W/\"1\"").send().await.unwrap().status(), 200);
    // Stale version: 412 (http.html#concurrency).
    assert_outcome(put("W/\"1\"").send().await.unwrap(), 412).await;
    assert_outcome(put("garbage").send().await.unwrap(), 400).await;
}

/// Prefer: return=minimal | representation | OperationOutcome (http.html#ops).
#[tokio::test]
async fn prefer_return() {
    let app = spawn_app().await;
    let post = |prefer: &'static str| {
        app.client
            .post(app.url("Patient"))
            .header("content-type", FHIR_JSON)
            .header("prefer", prefer)
            .body(patient("Li", "C").to_string())
    };
    let minimal = post("return=minimal").send().await.unwrap();
    assert_eq!(minimal.status(), 201);
    assert!(minimal.headers().contains_key("location"));
    assert!(minimal.bytes().await.unwrap().is_empty());
    let oo: Value = post("return=OperationOutcome")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(oo["resourceType"], "OperationOutcome");
    let rep: Value = post("return=representation")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rep["resourceType"], "Patient");
}

#[tokio::test]
async fn history_newest_first_with_count_and_since() {
    let app = spawn_app().await;
    let (id, mut body) = app.create(&patient("Ivanova", "H-1")).await;
    for g in ["male", "other", "unknown"] {
        // Distinct lastUpdated instants (millisecond precision) for the _since check.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        body["gender"] = json!(g);
        assert_eq!(
            app.put_json(&format!("Patient/{id}"), &body).await.status(),
            200
        );
    }
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    assert_eq!(app.delete(&format!("Patient/{id}")).await.status(), 204);
    let h = app.get_value(&format!("Patient/{id}/_history")).await;
    assert_eq!(h["type"], "history");
    assert_eq!(h["total"], 5);
    let entries = h["entry"].as_array().unwrap();
    let methods: Vec<&str> = entries
        .iter()
        .map(|e| e["request"]["method"].as_str().unwrap())
        .collect();
    assert_eq!(methods, ["DELETE", "PUT", "PUT", "PUT", "POST"]);
    assert!(entries[0].get("resource").is_none());
    assert_eq!(entries[1]["resource"]["meta"]["versionId"], "4");
    assert_eq!(entries[1]["response"]["etag"], "W/\"4\"");

    // _count pages with a working next link.
    let page = app
        .get_value(&format!("Patient/{id}/_history?_count=2"))
        .await;
    assert_eq!(page["entry"].as_array().unwrap().len(), 2);
    let next = next_link(&page);
    let page2 = app.follow(&next).await;
    assert_eq!(page2["entry"][0]["resource"]["meta"]["versionId"], "3");

    // _since is inclusive of the instant given.
    let v3_time = entries[2]["response"]["lastModified"].as_str().unwrap();
    let since = app
        .get_value(&format!(
            "Patient/{id}/_history?_since={}",
            v3_time.replace('+', "%2B")
        ))
        .await;
    assert_eq!(since["total"], 3);

    // Type history covers every Patient.
    app.create(&patient("Other", "H-2")).await;
    let th = app.get_value("Patient/_history").await;
    assert_eq!(th["total"], 6);
    assert_outcome(app.get("Patient/_history?_since=yesterday").await, 400).await;
}

/// System history (http://hl7.org/fhir/R4/http.html#history): every version of
/// every type, newest first, with request.method per version.
#[tokio::test]
async fn system_history_covers_every_type_newest_first() {
    let app = spawn_app().await;
    let (p, mut body) = app.create(&patient("Sys", "SYS-1")).await;
    body["gender"] = serde_json::json!("other");
    // lastUpdated has millisecond precision: keep the three versions apart.
    let tick = || tokio::time::sleep(std::time::Duration::from_millis(5));
    tick().await;
    assert_eq!(
        app.put_json(&format!("Patient/{p}"), &body).await.status(),
        200
    );
    tick().await;
    let (o, _) = app
        .create(&serde_json::json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}}))
        .await;
    let h: serde_json::Value = app.get_value("_history").await;
    assert_eq!(h["type"], "history");
    assert_eq!(h["total"], 3);
    let seen: Vec<(String, String, String)> = h["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["resource"]["resourceType"].as_str().unwrap().to_owned(),
                e["resource"]["id"].as_str().unwrap().to_owned(),
                e["request"]["method"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let s = |t: &str, id: &str, m: &str| (t.to_owned(), id.to_owned(), m.to_owned());
    assert_eq!(
        seen,
        vec![
            s("Observation", &o, "POST"),
            s("Patient", &p, "PUT"),
            s("Patient", &p, "POST")
        ]
    );
}
