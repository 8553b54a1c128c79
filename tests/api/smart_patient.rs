//! A patient-scoped token (SMART App Launch 2.0.0, scopes-and-launch-context.html:
//! `patient/` scopes reach the resources of the patient in context) against
//! every way to reach another patient's record: by id, search, `_include`,
//! `_revinclude`, chain, `_has`, history, a transaction or batch entry,
//! `$everything`, and writes that would leave the compartment (R4
//! CompartmentDefinition for Patient: Observation.subject/performer,
//! Appointment.actor, MedicationRequest.subject). Each refusal is 403 (or the
//! resource is left out of a set) and audited with outcome 4; nothing 5xx.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{bearer_headers, patient, spawn_app, TestApp};

struct World {
    app: TestApp,
    a: String,
    b: String,
    obs_a: String,
    obs_b: String,
    /// Of patient A, performed by patient B (so in both compartments).
    obs_ab: String,
    practitioner_b: String,
}

fn obs(subject: &str, code: &str, category: &str) -> Value {
    json!({"resourceType": "Observation", "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": category}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": format!("Patient/{subject}")}})
}

async fn world() -> World {
    let app = spawn_app().await;
    let (a, _) = app.create(&patient("Alpha", "MRN-A")).await;
    let (b, _) = app.create(&patient("Bravo", "MRN-B")).await;
    let (obs_a, _) = app.create(&obs(&a, "1111-1", "laboratory")).await;
    let (obs_b, _) = app.create(&obs(&b, "2222-2", "laboratory")).await;
    let mut ab = obs(&a, "3333-3", "vital-signs");
    ab["performer"] = json!([{"reference": format!("Patient/{b}")}]);
    let (obs_ab, _) = app.create(&ab).await;
    let (practitioner_b, _) = app
        .create(&json!({"resourceType": "Practitioner", "name": [{"family": "OnlyForB"}]}))
        .await;
    app.create(&json!({"resourceType": "Appointment", "status": "booked",
        "start": "2030-01-01T10:00:00Z", "end": "2030-01-01T10:30:00Z",
        "participant": [
            {"actor": {"reference": format!("Patient/{b}")}, "status": "accepted"},
            {"actor": {"reference": format!("Practitioner/{practitioner_b}")}, "status": "accepted"}]}))
        .await;
    World {
        app,
        a,
        b,
        obs_a,
        obs_b,
        obs_ab,
        practitioner_b,
    }
}

impl World {
    /// A client acting for patient A's app with `scope`.
    fn patient_client(&self, scope: &str) -> reqwest::Client {
        let (token, _) = self
            .app
            .authority
            .issue(fhirgate::auth::TokenSpec {
                sub: "user:alpha".into(),
                client_id: "patient-app".into(),
                scope: scope.into(),
                patient: Some(self.a.clone()),
                fhir_user: Some(format!("Patient/{}", self.a)),
                username: Some("alpha".into()),
                ..Default::default()
            })
            .unwrap();
        reqwest::Client::builder()
            .default_headers(bearer_headers(&token))
            .build()
            .unwrap()
    }
}

async fn get(c: &reqwest::Client, app: &TestApp, path: &str) -> (StatusCode, Value) {
    let r = c.get(app.url(path)).send().await.unwrap();
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// The `Type/id`s of a searchset's entries.
fn members(bundle: &Value) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let r = &e["resource"];
            r["id"]
                .as_str()
                .map(|id| format!("{}/{id}", r["resourceType"].as_str().unwrap_or("")))
        })
        .collect()
}

#[tokio::test]
async fn a_patient_token_reads_only_its_own_compartment() {
    let w = world().await;
    let (app, c) = (&w.app, w.patient_client("patient/*.rs"));
    let (a, b) = (&w.a, &w.b);
    // By id: own records 200, the other patient's 403, a made-up id 403 too
    // (the answer must not tell which ids exist).
    assert_eq!(get(&c, app, &format!("Patient/{a}")).await.0, 200);
    assert_eq!(
        get(&c, app, &format!("Observation/{}", w.obs_a)).await.0,
        200
    );
    let (s, oo) = get(&c, app, &format!("Patient/{b}")).await;
    assert_eq!(s, 403, "{oo}");
    assert_eq!(oo["issue"][0]["code"], "forbidden");
    assert_eq!(
        get(&c, app, &format!("Observation/{}", w.obs_b)).await.0,
        403
    );
    assert_eq!(get(&c, app, "Patient/no-such-patient").await.0, 403);
    // vread and history of the other patient's record.
    assert_eq!(
        get(&c, app, &format!("Patient/{b}/_history/1")).await.0,
        403
    );
    assert_eq!(get(&c, app, &format!("Patient/{b}/_history")).await.0, 403);
    // Search: only the compartment, whatever the criteria.
    let (s, all) = get(&c, app, "Observation").await;
    assert_eq!(s, 200);
    let mut got = members(&all);
    got.sort();
    let mut want = vec![
        format!("Observation/{}", w.obs_a),
        format!("Observation/{}", w.obs_ab),
    ];
    want.sort();
    assert_eq!(got, want, "{all}");
    let (_, by_b) = get(&c, app, &format!("Observation?subject=Patient/{b}")).await;
    assert!(members(&by_b).is_empty(), "{by_b}");
    let (_, pats) = get(&c, app, "Patient").await;
    assert_eq!(members(&pats), vec![format!("Patient/{a}")]);
    // _include of a reference to the other patient: left out.
    let (_, inc) = get(
        &c,
        app,
        &format!(
            "Observation?_id={}&_include=Observation:performer",
            w.obs_ab
        ),
    )
    .await;
    assert_eq!(
        members(&inc),
        vec![format!("Observation/{}", w.obs_ab)],
        "{inc}"
    );
    // _revinclude from the other patient: left out.
    let (_, rev) = get(
        &c,
        app,
        &format!("Patient?_id={a},{b}&_revinclude=Observation:subject"),
    )
    .await;
    assert!(
        !members(&rev)
            .iter()
            .any(|m| m.contains(b.as_str()) || m.contains(w.obs_b.as_str())),
        "{rev}"
    );
    // A chain into the other patient finds nothing of theirs.
    let (_, chain) = get(&c, app, "Observation?subject.family=Bravo").await;
    assert!(members(&chain).is_empty(), "{chain}");
    let (_, chain_id) = get(&c, app, &format!("Observation?subject:Patient._id={b}")).await;
    assert!(members(&chain_id).is_empty(), "{chain_id}");
    // _has over the other patient's Observations and Appointments reveals nothing.
    let (_, has) = get(&c, app, "Patient?_has:Observation:subject:code=2222-2").await;
    assert!(members(&has).is_empty(), "{has}");
    let (_, has_p) = get(
        &c,
        app,
        "Practitioner?_has:Appointment:practitioner:status=booked",
    )
    .await;
    assert!(
        !members(&has_p).contains(&format!("Practitioner/{}", w.practitioner_b)),
        "{has_p}"
    );
    // Type and system history leave the other patient's versions out.
    let (_, hist) = get(&c, app, "Observation/_history").await;
    assert!(
        !members(&hist).contains(&format!("Observation/{}", w.obs_b)),
        "{hist}"
    );
    let (_, sys) = get(&c, app, "_history").await;
    assert!(
        !members(&sys)
            .iter()
            .any(|m| m.ends_with(b.as_str()) || m.ends_with(w.obs_b.as_str())),
        "{sys}"
    );
    // $everything: the other patient's is refused; one's own holds nothing of theirs.
    assert_eq!(
        get(&c, app, &format!("Patient/{b}/$everything")).await.0,
        403
    );
    let (s, ev) = get(&c, app, &format!("Patient/{a}/$everything")).await;
    assert_eq!(s, 200, "{ev}");
    let ev_members = members(&ev);
    assert!(ev_members.contains(&format!("Patient/{a}")), "{ev}");
    assert!(!ev_members.contains(&format!("Patient/{b}")), "{ev}");
    assert!(
        !ev_members.contains(&format!("Observation/{}", w.obs_b)),
        "{ev}"
    );
    // A batch's GET entries: the other patient's entry 403, one's own 200.
    let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": format!("Patient/{b}")}},
        {"request": {"method": "GET", "url": format!("Patient/{a}")}},
        {"request": {"method": "GET", "url": "Observation?code=2222-2"}}]});
    let r = c
        .post(app.url(""))
        .header("content-type", "application/fhir+json")
        .body(batch.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let resp: Value = r.json().await.unwrap();
    assert!(
        resp["entry"][0]["response"]["status"]
            .as_str()
            .unwrap()
            .starts_with("403"),
        "{resp}"
    );
    assert!(
        resp["entry"][1]["response"]["status"]
            .as_str()
            .unwrap()
            .starts_with("200"),
        "{resp}"
    );
    assert!(members(&resp["entry"][2]["resource"]).is_empty(), "{resp}");
    // A transaction with a GET of the other patient fails whole.
    let tx = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "GET", "url": format!("Patient/{b}")}}]});
    let r = c
        .post(app.url(""))
        .header("content-type", "application/fhir+json")
        .body(tx.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Every refusal above was audited (outcome 4), naming the client.
    let audits = app
        .get_value(&format!(
            "AuditEvent?outcome=4&entity=Patient/{b}&_count=100"
        ))
        .await;
    let n = audits["entry"].as_array().map_or(0, Vec::len);
    assert!(n >= 3, "refusals of Patient/{b} audited: {audits}");
    let agents = audits["entry"][0]["resource"]["agent"].to_string();
    assert!(
        agents.contains("patient-app"),
        "the client is an agent: {agents}"
    );
    assert!(
        agents.contains(&format!("Patient/{a}")),
        "the user is an agent: {agents}"
    );
}

#[tokio::test]
async fn a_patient_token_writes_only_inside_its_compartment() {
    let w = world().await;
    let (app, c) = (&w.app, w.patient_client("patient/*.cruds"));
    let post = |body: Value, path: String| {
        let c = c.clone();
        let url = app.url(&path);
        async move {
            c.post(url)
                .header("content-type", "application/fhir+json")
                .body(body.to_string())
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    // Create for oneself: 201; for the other patient: 403.
    assert_eq!(
        post(obs(&w.a, "4444-4", "laboratory"), "Observation".into()).await,
        201
    );
    assert_eq!(
        post(obs(&w.b, "4444-4", "laboratory"), "Observation".into()).await,
        403
    );
    // A new Patient is outside the compartment (it is not the launch patient).
    assert_eq!(
        post(patient("Charlie", "MRN-C"), "Patient".into()).await,
        403
    );
    // Moving one's own Observation to the other patient: 403, and it stays.
    let mut moved = obs(&w.b, "1111-1", "laboratory");
    moved["id"] = json!(w.obs_a);
    let r = c
        .put(app.url(&format!("Observation/{}", w.obs_a)))
        .header("content-type", "application/fhir+json")
        .body(moved.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let stored = app.get_value(&format!("Observation/{}", w.obs_a)).await;
    assert_eq!(stored["subject"]["reference"], format!("Patient/{}", w.a));
    // Updating, patching or deleting the other patient's: 403.
    let mut theirs = obs(&w.b, "2222-2", "laboratory");
    theirs["id"] = json!(w.obs_b);
    theirs["status"] = json!("amended");
    let r = c
        .put(app.url(&format!("Observation/{}", w.obs_b)))
        .header("content-type", "application/fhir+json")
        .body(theirs.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = c
        .patch(app.url(&format!("Observation/{}", w.obs_b)))
        .header("content-type", "application/json-patch+json")
        .body(json!([{"op": "replace", "path": "/status", "value": "amended"}]).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = c
        .delete(app.url(&format!("Observation/{}", w.obs_b)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        app.get(&format!("Observation/{}", w.obs_b)).await.status(),
        200
    );
    // A conditional update matching the other patient's record by a
    // criterion creates nothing of theirs and changes nothing of theirs.
    let r = c
        .put(app.url("Observation?code=2222-2"))
        .header("content-type", "application/fhir+json")
        .body(obs(&w.b, "2222-2", "laboratory").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // A transaction writing into the other patient's compartment fails whole.
    let tx = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:6f1c1b2e-0000-4000-8000-000000000001", "resource": obs(&w.a, "5555-5", "laboratory"),
         "request": {"method": "POST", "url": "Observation"}},
        {"fullUrl": "urn:uuid:6f1c1b2e-0000-4000-8000-000000000002", "resource": obs(&w.b, "5555-5", "laboratory"),
         "request": {"method": "POST", "url": "Observation"}}]});
    let r = post(tx, String::new()).await;
    assert_eq!(r, 403);
    let none = app.get_value("Observation?code=5555-5").await;
    assert!(
        members(&none).is_empty(),
        "nothing of the failed transaction: {none}"
    );
}

#[tokio::test]
async fn a_query_constrained_scope_sees_only_its_matches() {
    let w = world().await;
    let scope = "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory";
    let (app, c) = (&w.app, w.patient_client(scope));
    let (s, all) = get(&c, app, "Observation").await;
    assert_eq!(s, 200);
    assert_eq!(
        members(&all),
        vec![format!("Observation/{}", w.obs_a)],
        "{all}"
    );
    // The vital-signs Observation of the same patient is outside the scope's query.
    assert_eq!(
        get(&c, app, &format!("Observation/{}", w.obs_ab)).await.0,
        403
    );
    assert_eq!(
        get(&c, app, &format!("Observation/{}", w.obs_a)).await.0,
        200
    );
    // No scope for Patients at all.
    assert_eq!(get(&c, app, &format!("Patient/{}", w.a)).await.0, 403);
    assert_eq!(get(&c, app, "Patient").await.0, 403);
}
