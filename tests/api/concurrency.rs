//! Rules that must hold under concurrent requests.

use crate::helpers::*;
use serde_json::{json, Value};

/// If-None-Exist (http://hl7.org/fhir/R4/http.html#ccreate): no match creates,
/// one match returns it with 200, several give 412; racing identical
/// conditional creates make exactly one resource.
#[tokio::test]
async fn conditional_create_is_race_free() {
    let app = spawn_app().await;
    let body = patient("Race", "RACE-1").to_string();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (client, url, body) = (app.client.clone(), app.url("Patient"), body.clone());
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .header("content-type", FHIR_JSON)
                .header(
                    "if-none-exist",
                    "identifier=urn:oid:1.2.36.146.595.217.0.1|RACE-1",
                )
                .body(body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let v: Value = r.json().await.unwrap();
            (status, v["id"].as_str().unwrap().to_owned())
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    assert_eq!(
        results.iter().filter(|(s, _)| *s == 201).count(),
        1,
        "{results:?}"
    );
    assert_eq!(
        results.iter().filter(|(s, _)| *s == 200).count(),
        19,
        "{results:?}"
    );
    let first = &results[0].1;
    assert!(results.iter().all(|(_, id)| id == first));
    let found = app.get_value("Patient?identifier=RACE-1").await;
    assert_eq!(found["total"], 1);

    // Two matches: 412.
    app.create(&patient("Race", "RACE-2")).await;
    app.create(&patient("Race", "RACE-2")).await;
    let r = app
        .client
        .post(app.url("Patient"))
        .header("content-type", FHIR_JSON)
        .header("if-none-exist", "identifier=RACE-2")
        .body(patient("Race", "RACE-2").to_string())
        .send()
        .await
        .unwrap();
    assert_outcome(r, 412).await;
}

/// Conditional update and delete by search (http.html#cond-update, #3.1.0.7.1).
#[tokio::test]
async fn conditional_update_and_delete() {
    let app = spawn_app().await;
    let q = "Patient?identifier=urn:oid:1.2.36.146.595.217.0.1%7CCU-1";
    // No match: created.
    let r = app.put_json(q, &patient("Cond", "CU-1")).await;
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // One match: updated in place.
    let mut p = patient("Cond", "CU-1");
    p["gender"] = json!("male");
    let r = app.put_json(q, &p).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (
            v["id"].as_str().unwrap(),
            v["meta"]["versionId"].as_str().unwrap()
        ),
        (id.as_str(), "2")
    );
    // Unknown parameters cannot be ignored in a conditional interaction.
    assert_outcome(app.put_json("Patient?bogus=1", &p).await, 400).await;
    // Delete by criteria.
    assert_eq!(app.delete(q).await.status(), 204);
    assert_outcome(app.get(&format!("Patient/{id}")).await, 410).await;
}

fn appointment(practitioner: &str, start: &str, end: &str) -> Value {
    json!({
        "resourceType": "Appointment",
        "status": "booked",
        "start": start,
        "end": end,
        "participant": [
            {"actor": {"reference": format!("Practitioner/{practitioner}")}, "status": "accepted"},
            {"actor": {"reference": "Patient/p1"}, "status": "accepted"}
        ]
    })
}

#[tokio::test]
async fn double_booking_is_refused() {
    let app = spawn_app().await;
    app.create(&appointment(
        "dr-a",
        "2026-03-01T09:00:00Z",
        "2026-03-01T09:30:00Z",
    ))
    .await;
    // Overlapping slot of the same practitioner: a business rule, so 422
    // (http.html#2.21.0.17 keeps 409/412 for version conflicts), with an
    // OperationOutcome whose issue type says so (valueset-issue-type).
    let clash = app
        .post_json(
            "Appointment",
            &appointment("dr-a", "2026-03-01T09:15:00Z", "2026-03-01T09:45:00Z"),
        )
        .await;
    let oo = assert_outcome(clash, 422).await;
    assert_eq!(oo["issue"][0]["code"], "business-rule");
    assert!(oo["issue"][0]["diagnostics"]
        .as_str()
        .unwrap()
        .contains("overlaps"));
    // Adjacent slot ([start, end) ranges) and another practitioner are fine.
    app.create(&appointment(
        "dr-a",
        "2026-03-01T09:30:00Z",
        "2026-03-01T10:00:00Z",
    ))
    .await;
    app.create(&appointment(
        "dr-b",
        "2026-03-01T09:15:00Z",
        "2026-03-01T09:45:00Z",
    ))
    .await;
    // A proposed appointment does not hold the slot.
    let mut proposed = appointment("dr-a", "2026-03-01T09:00:00Z", "2026-03-01T09:30:00Z");
    proposed["status"] = json!("proposed");
    app.create(&proposed).await;
}

#[tokio::test]
async fn fifty_concurrent_bookings_of_one_slot_one_wins() {
    let app = spawn_app().await;
    let body = appointment("dr-busy", "2026-04-01T14:00:00Z", "2026-04-01T14:20:00Z").to_string();
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (client, url, body) = (app.client.clone(), app.url("Appointment"), body.clone());
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .header("content-type", FHIR_JSON)
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 422).count(),
        49,
        "{statuses:?}"
    );
}
