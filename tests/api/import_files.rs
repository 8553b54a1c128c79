//! `fhirgate import` of NDJSON, collections, batches and bad input (issue #4):
//! small files written by each test, expected counts worked out from them.

use std::path::{Path, PathBuf};

use fhirgate::import;
use serde_json::{json, Value};

use crate::bundles::read;
use crate::helpers::*;
use crate::import::{args, direct, n, run, total};

fn tmpdir() -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "fhirgate-import-in-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write_ndjson(path: &Path, lines: &[Value]) {
    let text: Vec<String> = lines.iter().map(Value::to_string).collect();
    std::fs::write(path, text.join("\n") + "\n").unwrap();
}

fn pat(id: &str, mrn: &str) -> Value {
    json!({"resourceType": "Patient", "id": id, "identifier": [{"system": "urn:mrn", "value": mrn}],
           "name": [{"family": "Nd"}]})
}

fn obs(id: &str, subject: &str) -> Value {
    json!({"resourceType": "Observation", "id": id, "status": "final",
           "code": {"coding": [{"system": "http://loinc.org", "code": "8302-2"}]},
           "subject": {"reference": subject}, "encounter": {"reference": "Encounter/e1"}})
}

// nd-json.html: one resource per line. With ids, each is PUT Type/id, so the
// ids (and the references between files) are kept and a re-import updates.
#[tokio::test]
async fn ndjson_in_groups_keeps_ids() {
    let app = spawn_app().await;
    let dir = tmpdir();
    write_ndjson(
        &dir.join("Patient.ndjson"),
        &[pat("nd-p1", "N1"), pat("nd-p2", "N2"), pat("nd-p3", "N3")],
    );
    let sub = dir.join("more");
    std::fs::create_dir_all(&sub).unwrap();
    write_ndjson(
        &sub.join("Observation.ndjson"),
        &[
            obs("nd-o1", "Patient/nd-p1"),
            obs("nd-o2", "Patient/nd-p2"),
            json!({"resourceType": "Encounter", "id": "e1", "status": "finished"}),
        ],
    );
    std::fs::write(
        dir.join("notes.txt"),
        "not imported: not *.json or *.ndjson",
    )
    .unwrap();
    let s = run(&app, vec![dir.clone()], false).await;
    assert!(!s.failed_hard(), "{:?}", s.failures);
    assert_eq!(s.files, 2);
    // 3 Patients and 3 resources in groups of 2: 2 + 2 groups, but the group
    // holding only the Encounter has nothing left to send.
    assert_eq!(s.bundles, 3);
    assert_eq!(n(&s.created, "Patient"), 3);
    assert_eq!(n(&s.created, "Observation"), 2);
    assert_eq!(
        s.refused
            .get(&("Encounter".to_owned(), "type not served".to_owned())),
        Some(&1)
    );
    let o = read(&app, "Observation/nd-o1").await;
    assert_eq!(o["subject"]["reference"], "Patient/nd-p1");
    // A `Type/id` reference to an unserved type is stored as a PUT stores it.
    assert_eq!(o["encounter"], json!({"reference": "Encounter/e1"}));
    // Again, over HTTP: the same ids are updated, nothing is duplicated.
    let again = run(&app, vec![dir], true).await;
    assert_eq!(n(&again.updated, "Patient"), 3);
    assert_eq!(n(&again.updated, "Observation"), 2);
    assert_eq!(total(&app, "Patient").await, 3);
    assert_eq!(read(&app, "Patient/nd-p1").await["meta"]["versionId"], "2");
}

// A malformed file sends nothing (no partial Bundle) and is a hard failure; a
// transaction the gateway refuses stores nothing of its Bundle, is listed with
// its first error, and is not a hard failure.
#[tokio::test]
async fn bad_input() {
    let app = spawn_app().await;
    let dir = tmpdir();
    std::fs::write(
        dir.join("a-truncated.json"),
        r#"{"resourceType": "Bundle", "type": "transaction", "entry": [{"#,
    )
    .unwrap();
    write_ndjson(
        &dir.join("b-bad-line.ndjson"),
        &[pat("bad-1", "B1"), pat("bad-2", "B2")],
    );
    let mut text = std::fs::read_to_string(dir.join("b-bad-line.ndjson")).unwrap();
    text.push_str("{\"resourceType\": \"Patient\", \n");
    std::fs::write(dir.join("b-bad-line.ndjson"), text).unwrap();
    let invalid = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:ok", "resource": pat("x", "I1"), "request": {"method": "POST", "url": "Patient"}},
        {"fullUrl": "urn:uuid:bad", "resource": {"resourceType": "Patient", "birthDate": "1970-13-45"},
         "request": {"method": "POST", "url": "Patient"}}]});
    std::fs::write(dir.join("c-invalid.json"), invalid.to_string()).unwrap();
    std::fs::write(dir.join("d-good.json"), pat("good-1", "G1").to_string()).unwrap();
    let s = run(
        &app,
        vec![dir, PathBuf::from("/nonexistent/fhirgate-import")],
        false,
    )
    .await;
    assert!(s.failed_hard());
    assert_eq!(s.files, 4);
    assert_eq!(s.files_failed, 2);
    let failures = s.failures.join("\n");
    assert!(failures.contains("file #1: not valid JSON"), "{failures}");
    assert!(
        failures.contains("file #2: line 3: not valid JSON"),
        "{failures}"
    );
    assert!(failures.contains("an input path"), "{failures}");
    assert_eq!(s.bundles_refused, 1);
    assert_eq!(s.errors.len(), 1, "{:?}", s.errors);
    assert!(s.errors[0].starts_with("file #3: 4"), "{:?}", s.errors);
    assert!(s.errors[0].contains("urn:uuid:bad"), "{:?}", s.errors);
    // Only the good single resource (a collection of one: PUT Patient/good-1).
    assert_eq!(total(&app, "Patient").await, 1);
    read(&app, "Patient/good-1").await;
}

// MedicationRequest.medication[x] is 1..1: a medicationReference to a left-out
// Medication becomes medicationCodeableConcept with its code, or a
// display-only Reference when it has none. A batch is sent as a batch.
#[tokio::test]
async fn medication_references_and_batches() {
    let app = spawn_app().await;
    let dir = tmpdir();
    let mr = |full: &str, med: &str| {
        json!({"fullUrl": full, "resource": {"resourceType": "MedicationRequest",
        "status": "active", "intent": "order", "medicationReference": {"reference": med},
        "subject": {"reference": "urn:uuid:pt"}}, "request": {"method": "POST", "url": "MedicationRequest"}})
    };
    let code = json!({"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "834061"}]});
    let tx = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:pt", "resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Patient"}},
        {"fullUrl": "urn:uuid:m1", "resource": {"resourceType": "Medication", "code": code}, "request": {"method": "POST", "url": "Medication"}},
        {"fullUrl": "urn:uuid:m2", "resource": {"resourceType": "Medication"}, "request": {"method": "POST", "url": "Medication"}},
        mr("urn:uuid:r1", "urn:uuid:m1"), mr("urn:uuid:r2", "urn:uuid:m2")]});
    std::fs::write(dir.join("tx.json"), tx.to_string()).unwrap();
    let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        {"resource": {"resourceType": "Practitioner", "id": "b1"}, "request": {"method": "PUT", "url": "Practitioner/b1"}},
        {"resource": {"resourceType": "Practitioner", "gender": "nope"}, "request": {"method": "POST", "url": "Practitioner"}},
        {"resource": {"resourceType": "Location"}, "request": {"method": "POST", "url": "Location"}}]});
    std::fs::write(dir.join("batch.json"), batch.to_string()).unwrap();
    let s = run(&app, vec![dir], false).await;
    assert!(!s.failed_hard(), "{:?}", s.failures);
    assert_eq!(n(&s.created, "MedicationRequest"), 2);
    assert_eq!(
        s.refused
            .get(&("Medication".to_owned(), "type not served".to_owned())),
        Some(&2)
    );
    assert_eq!(
        s.refused
            .get(&("Location".to_owned(), "type not served".to_owned())),
        Some(&1)
    );
    assert_eq!(n(&s.created, "Practitioner"), 1);
    assert_eq!(
        s.refused
            .get(&("Practitioner".to_owned(), "refused (400)".to_owned())),
        Some(&1)
    );
    let all = read(&app, "MedicationRequest").await;
    let mut got: Vec<Value> = all["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"].clone())
        .collect();
    got.sort_by_key(|r| r.get("medicationCodeableConcept").is_none());
    assert_eq!(got[0]["medicationCodeableConcept"], code);
    assert_eq!(
        got[1]["medicationReference"],
        json!({"type": "Medication", "display": "Medication (not imported by fhirgate)"})
    );
}

#[tokio::test]
async fn unreachable_gateway_is_an_error() {
    let app = spawn_app().await;
    let a = args(vec![tmpdir()], Some("http://127.0.0.1:9/fhir".into()));
    let e = import::run(direct(&app), a).await.err().unwrap();
    assert!(format!("{e:#}").contains("unreachable"), "{e:#}");
}
