//! Patient $everything (http://hl7.org/fhir/R4/patient-operation-everything.html):
//! the patient, the resources of its compartment (R4 Patient
//! CompartmentDefinition: Observation subject/performer, MedicationRequest
//! subject, Appointment actor, Patient link) and the Practitioners they reference.

use crate::helpers::*;
use crate::search_common::all_pages;
use serde_json::{json, Value};

fn ids_of(b: &Value) -> Vec<String> {
    let mut v: Vec<String> = b["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            format!(
                "{}/{}",
                e["resource"]["resourceType"].as_str().unwrap(),
                e["resource"]["id"].as_str().unwrap()
            )
        })
        .collect();
    v.sort();
    v
}

fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v
}

#[tokio::test]
async fn everything_for_one_patient_and_for_all() {
    let app = spawn_app().await;
    let (a, _) = app.create(&patient("Every", "E-1")).await;
    let (b, _) = app.create(&patient("Other", "E-2")).await;
    let (d, _) = app
        .create(&json!({"resourceType": "Practitioner", "name": [{"family": "Doc"}]}))
        .await;
    let (e, _) = app
        .create(&json!({"resourceType": "Practitioner", "name": [{"family": "Unrelated"}]}))
        .await;
    let obs = |p: &str, perf: Option<&str>| {
        let mut o = json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                           "subject": {"reference": format!("Patient/{p}")}});
        if let Some(d) = perf {
            o["performer"] = json!([{"reference": format!("Practitioner/{d}")}]);
        }
        o
    };
    let (o1, _) = app.create(&obs(&a, Some(&d))).await;
    let (o2, _) = app.create(&obs(&b, None)).await;
    let (m1, _) = app
        .create(
            &json!({"resourceType": "MedicationRequest", "status": "active", "intent": "order",
                        "medicationCodeableConcept": {"text": "aspirin"},
                        "subject": {"reference": format!("Patient/{a}")}}),
        )
        .await;
    let (ap, _) = app
        .create(&json!({"resourceType": "Appointment", "status": "proposed",
                        "participant": [{"actor": {"reference": format!("Patient/{a}")}, "status": "accepted"}]}))
        .await;
    let want_a = sorted(&[
        format!("Patient/{a}"),
        format!("Observation/{o1}"),
        format!("MedicationRequest/{m1}"),
        format!("Appointment/{ap}"),
        format!("Practitioner/{d}"),
    ]);
    let got = app.get_value(&format!("Patient/{a}/$everything")).await;
    assert_eq!(got["type"], "searchset");
    assert_eq!(ids_of(&got), want_a);
    assert_eq!(got["total"], 5);
    // _type restricts the types returned.
    let only = app
        .get_value(&format!(
            "Patient/{a}/$everything?_type=Observation,Practitioner"
        ))
        .await;
    assert_eq!(
        ids_of(&only),
        sorted(&[format!("Observation/{o1}"), format!("Practitioner/{d}")])
    );
    // _since after everything was written: nothing.
    let later = app
        .get_value(&format!(
            "Patient/{a}/$everything?_since=2999-01-01T00:00:00Z"
        ))
        .await;
    assert_eq!(ids_of(&later), Vec::<String>::new());
    // Paging with _count: every resource once.
    let all: Vec<String> = all_pages(&app, &format!("Patient/{a}/$everything?_count=2"))
        .await
        .iter()
        .flat_map(ids_of)
        .collect();
    assert_eq!(sorted(&all), want_a);
    // Type level: every patient with its compartment; the unrelated Practitioner is absent.
    let every = app.get_value("Patient/$everything").await;
    let mut want = want_a.clone();
    want.push(format!("Patient/{b}"));
    want.push(format!("Observation/{o2}"));
    assert_eq!(ids_of(&every), sorted(&want));
    assert!(!ids_of(&every).contains(&format!("Practitioner/{e}")));
    // An unknown patient: 404.
    assert_outcome(app.get("Patient/nobody/$everything").await, 404).await;
}
