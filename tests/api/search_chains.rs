//! Issue #3, chained parameters and reverse chaining
//! (http://hl7.org/fhir/R4/search.html#chaining, #has).

use crate::helpers::*;
use crate::search_common::*;
use serde_json::{json, Value};

struct World {
    doc1: String,
    doc2: String,
    cp1: String,
    cp2: String,
    cp3: String,
    x1: String,
    x2: String,
    x3: String,
    mr1: String,
}

/// Practitioners DOC1 (Ngozi Okafor), DOC2 (Lars Lindqvist); Patients CP1 Peter
/// Chalmers (C-1, GP DOC1), CP2 Petra Smith (C-2, GP DOC2), CP3 Zed Peterson
/// (C-3, no GP); Observations X1 (CP1, 8867-4), X2 (CP2, 8480-6), X3 (CP3,
/// 8867-4), X4 (Group/grp1, 8867-4); MedicationRequests MR1 (CP1), MR2 (CP2).
async fn world(app: &TestApp) -> World {
    let doc = |family: &str, given: &str| json!({"resourceType": "Practitioner", "name": [{"family": family, "given": [given]}]});
    let (doc1, _) = app.create(&doc("Okafor", "Ngozi")).await;
    let (doc2, _) = app.create(&doc("Lindqvist", "Lars")).await;
    let pat = |family: &str, given: &str, mrn: &str, gp: Option<&String>| {
        let mut p = json!({"resourceType": "Patient", "name": [{"family": family, "given": [given]}],
                           "identifier": [{"system": "urn:mrn", "value": mrn}]});
        if let Some(g) = gp {
            p["generalPractitioner"] = json!([{"reference": format!("Practitioner/{g}")}]);
        }
        p
    };
    let (cp1, _) = app
        .create(&pat("Chalmers", "Peter", "C-1", Some(&doc1)))
        .await;
    let (cp2, _) = app.create(&pat("Smith", "Petra", "C-2", Some(&doc2))).await;
    let (cp3, _) = app.create(&pat("Peterson", "Zed", "C-3", None)).await;
    let o = |subject: &str, code: &str| with(obs(code), json!({"subject": {"reference": subject}}));
    let (x1, _) = app.create(&o(&format!("Patient/{cp1}"), "8867-4")).await;
    let (x2, _) = app.create(&o(&format!("Patient/{cp2}"), "8480-6")).await;
    let (x3, _) = app.create(&o(&format!("Patient/{cp3}"), "8867-4")).await;
    app.create(&o("Group/grp1", "8867-4")).await;
    let mr = |p: &String| -> Value {
        json!({"resourceType": "MedicationRequest", "status": "active", "intent": "order",
               "medicationCodeableConcept": {"text": "aspirin"},
               "subject": {"reference": format!("Patient/{p}")}})
    };
    let (mr1, _) = app.create(&mr(&cp1)).await;
    app.create(&mr(&cp2)).await;
    World {
        doc1,
        doc2,
        cp1,
        cp2,
        cp3,
        x1,
        x2,
        x3,
        mr1,
    }
}

#[tokio::test]
async fn chained_parameters() {
    let app = spawn_app().await;
    let w = world(&app).await;

    // search.html#chaining: [param]:[type].[param] on the referenced resource;
    // name=peter matches Peter (CP1) and Peterson (CP3), not Petra.
    assert_eq!(
        ids(&app, "Observation?subject:Patient.name=peter").await,
        set(&[&w.x1, &w.x3])
    );
    // A parameter with a single target type needs no type.
    assert_eq!(
        ids(&app, "Observation?patient.name=petra").await,
        vec![w.x2.clone()]
    );
    assert_eq!(
        ids(&app, "Observation?patient.identifier=urn:mrn|C-2").await,
        vec![w.x2.clone()]
    );
    // OR inside the chained value.
    assert_eq!(
        ids(&app, "Observation?subject:Patient.identifier=C-1,C-3").await,
        set(&[&w.x1, &w.x3])
    );
    assert_eq!(ids(&app, "Observation?patient.name=nobody").await, NONE);
    // A chain ANDs with the other parameters.
    assert_eq!(
        ids(&app, "Observation?patient.name=pet&code=8867-4").await,
        set(&[&w.x1, &w.x3])
    );
    // Two levels: general-practitioner targets Practitioner, Organization and
    // PractitionerRole, so the type is given.
    assert_eq!(
        ids(
            &app,
            "Observation?patient.general-practitioner:Practitioner.name=okafor"
        )
        .await,
        vec![w.x1.clone()]
    );
    assert_eq!(
        ids(
            &app,
            "Observation?subject:Patient.general-practitioner:Practitioner.family=lind"
        )
        .await,
        vec![w.x2.clone()]
    );
    assert_eq!(
        ids(
            &app,
            "MedicationRequest?patient.general-practitioner:Practitioner.given=ngozi"
        )
        .await,
        vec![w.mr1.clone()]
    );
    // A chain through a reference that is absent (CP3 has no GP) matches nothing.
    assert_eq!(
        ids(
            &app,
            "Observation?patient.general-practitioner:Practitioner.name=zzz"
        )
        .await,
        NONE
    );
}

#[tokio::test]
async fn reverse_chaining_with_has() {
    let app = spawn_app().await;
    let w = world(&app).await;

    // search.html#has: _has:[type]:[param]:[filter] selects the resources that
    // are referred to, by [param], from resources of [type] matching [filter].
    assert_eq!(
        ids(&app, "Patient?_has:Observation:patient:code=8480-6").await,
        vec![w.cp2.clone()]
    );
    assert_eq!(
        ids(&app, "Patient?_has:Observation:patient:code=8867-4").await,
        set(&[&w.cp1, &w.cp3])
    );
    assert_eq!(
        ids(&app, "Patient?_has:Observation:subject:code=8867-4").await,
        set(&[&w.cp1, &w.cp3])
    );
    assert_eq!(
        ids(&app, "Patient?_has:Observation:patient:code=8480-6,8867-4").await,
        set(&[&w.cp1, &w.cp2, &w.cp3])
    );
    assert_eq!(
        ids(&app, "Patient?_has:Observation:patient:code=0000-0").await,
        NONE
    );
    assert_eq!(
        ids(
            &app,
            &format!("Patient?_has:MedicationRequest:patient:_id={}", w.mr1)
        )
        .await,
        vec![w.cp1.clone()]
    );
    // _has ANDs with ordinary parameters.
    assert_eq!(
        ids(
            &app,
            "Patient?_has:Observation:patient:code=8867-4&family=peterson"
        )
        .await,
        vec![w.cp3.clone()]
    );
    // Practitioners by the patients who have them as GP.
    assert_eq!(
        ids(
            &app,
            "Practitioner?_has:Patient:general-practitioner:name=petra"
        )
        .await,
        vec![w.doc2.clone()]
    );
    // Nested _has: GPs of patients who have an 8867-4 Observation (CP1 -> DOC1;
    // CP3 has no GP).
    assert_eq!(
        ids(
            &app,
            "Practitioner?_has:Patient:general-practitioner:_has:Observation:patient:code=8867-4"
        )
        .await,
        vec![w.doc1.clone()]
    );
    assert_eq!(
        ids(
            &app,
            "Practitioner?_has:Patient:general-practitioner:_has:Observation:patient:code=8480-6"
        )
        .await,
        vec![w.doc2.clone()]
    );
}
