//! Every interaction leaves an AuditEvent (IHE BALP shape), failures included.

use crate::bundles::written;
use crate::helpers::*;
use serde_json::Value;

async fn audit_search(app: &TestApp, query: &str, at_least: i64) -> Value {
    // Reads are audited through a batched writer: poll briefly.
    for _ in 0..50 {
        let v = app.get_value(&format!("AuditEvent?{query}")).await;
        if v["total"].as_i64().unwrap_or(0) >= at_least {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no AuditEvent for {query}");
}

#[tokio::test]
async fn interactions_are_audited() {
    let app = spawn_app().await;
    let (id, _) = app.create(&patient("Audited", "AU-1")).await;
    assert_eq!(app.get(&format!("Patient/{id}")).await.status(), 200);
    assert_eq!(app.get("Patient/does-not-exist").await.status(), 404);
    assert_eq!(
        app.post_json(
            "Patient",
            &serde_json::json!({"resourceType": "Patient", "x": 1})
        )
        .await
        .status(),
        400
    );

    // The create committed with its AuditEvent: action C, outcome 0. (The refused
    // create above is a create too, with outcome 4.)
    let created = audit_search(&app, "subtype=create&outcome=0", 1).await;
    assert_eq!(created["total"], 1);
    let refused = audit_search(
        &app,
        "subtype=http://hl7.org/fhir/restful-interaction|create&outcome=4",
        1,
    )
    .await;
    assert_eq!(refused["total"], 1);
    let e = &created["entry"][0]["resource"];
    assert_eq!(e["type"]["code"], "rest");
    assert_eq!(e["action"], "C");
    assert_eq!(e["outcome"], "0");
    assert_eq!(e["agent"][0]["requestor"], true);
    assert_eq!(e["agent"][0]["network"]["address"], "127.0.0.1");

    // The read names the patient, so it is found by patient.
    let by_patient = audit_search(&app, &format!("patient=Patient/{id}&subtype=read"), 1).await;
    assert_eq!(by_patient["entry"][0]["resource"]["action"], "R");

    // Failures are audited with a failure outcome: the 404 read and the 400 create.
    let failed = audit_search(&app, "outcome=4", 2).await;
    assert_eq!(failed["total"], 2);
    // A code from another system matches nothing.
    let v = app
        .get_value("AuditEvent?action=http://example.org|C")
        .await;
    assert_eq!(v["total"], 0);

    // AuditEvents are readable by id.
    let aid = e["id"].as_str().unwrap();
    let read = app.get_value(&format!("AuditEvent/{aid}")).await;
    assert_eq!(read["id"], aid);
}

/// A transaction's writes reach PostgreSQL as one statement (store/writes.rs),
/// their AuditEvents as one multi-row insert whose array columns (entity,
/// patient) differ in length from row to row. Each entry must still get its own
/// AuditEvent naming its own resource and, where there is one, its patient
/// (IHE BALP: one event per interaction; the Practitioner has no patient).
#[tokio::test]
async fn each_transaction_entry_is_audited_with_its_own_entity_and_patient() {
    let app = spawn_app().await;
    let obs = |code: &str| {
        serde_json::json!({"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "subject": {"reference": "urn:uuid:7b1f9c4e-0000-4000-8000-000000000001"}})
    };
    let bundle = serde_json::json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:7b1f9c4e-0000-4000-8000-000000000001",
         "resource": patient("Entrywise", "EW-1"),
         "request": {"method": "POST", "url": "Patient"}},
        {"resource": {"resourceType": "Practitioner", "name": [{"family": "Nopatient"}]},
         "request": {"method": "POST", "url": "Practitioner"}},
        {"resource": obs("2345-7"), "request": {"method": "POST", "url": "Observation"}},
        {"resource": obs("2951-2"), "request": {"method": "POST", "url": "Observation"}}
    ]});
    let resp = app.post_json("", &bundle).await;
    assert_eq!(resp.status(), 200);
    let resp: Value = resp.json().await.unwrap();
    let (p, dr, o1, o2) = (
        written(&app, &resp, 0, 201, "Patient", 1),
        written(&app, &resp, 1, 201, "Practitioner", 1),
        written(&app, &resp, 2, 201, "Observation", 1),
        written(&app, &resp, 3, 201, "Observation", 1),
    );
    for (rtype, id, patient) in [
        ("Patient", &p, true),
        ("Practitioner", &dr, false),
        ("Observation", &o1, true),
        ("Observation", &o2, true),
    ] {
        let found = audit_search(&app, &format!("entity={rtype}/{id}&subtype=create"), 1).await;
        assert_eq!(found["total"], 1, "{rtype}/{id}");
        let e = &found["entry"][0]["resource"];
        assert_eq!(e["action"], "C");
        let refs: Vec<&str> = e["entity"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|x| x["what"]["reference"].as_str())
            .collect();
        // The resource entity names the version written (src/audit/event.rs).
        let own = format!("{rtype}/{id}/_history/1");
        assert!(refs.contains(&own.as_str()), "{refs:?}");
        assert_eq!(
            refs.contains(&format!("Patient/{p}").as_str()),
            patient,
            "{rtype}/{id}: {refs:?}"
        );
    }
    // By patient: the Patient's and the two Observations' creates, not the Practitioner's.
    let by_patient = audit_search(&app, &format!("patient=Patient/{p}&action=C"), 3).await;
    assert_eq!(by_patient["total"], 3);
}

/// The audit writer sends each row's array columns as array literals: values
/// with quotes, backslashes, braces, commas and spaces come back unchanged, and
/// rows of different lengths (none included) keep their own elements.
#[tokio::test]
async fn audit_array_columns_keep_awkward_values() {
    use diesel::prelude::*;
    use diesel::sql_types::{Array, Text};
    let app = spawn_app().await;
    let master = fhirgate::crypto::MasterKey::parse(&app.master_key_hex).unwrap();
    let keyring = fhirgate::crypto::Keyring::new(master);
    let tenant = fhirgate::tenant::TenantId::default_tenant();
    let awkward = vec![
        r#"say "hi""#.to_owned(),
        r"back\slash".to_owned(),
        "{braces}, commas".to_owned(),
        "  spaced  ".to_owned(),
        "NULL".to_owned(),
        String::new(),
    ];
    let row = |id: &fhirgate::model::ResourceId, entities: Vec<String>| {
        fhirgate::store::audit::AuditRow {
            id: id.clone(),
            recorded: chrono::Utc::now(),
            body: b"{}".to_vec(),
            type_code: "rest".into(),
            subtype: "read".into(),
            action: "R".into(),
            outcome: "0".into(),
            entities,
            patients: vec![],
            agents: vec!["agent".into()],
            address: None,
            terms: vec!["t|1".into(), "t|2".into()],
        }
    };
    let (a, b) = (
        fhirgate::model::ResourceId::generate(),
        fhirgate::model::ResourceId::generate(),
    );
    let mut conn = diesel::PgConnection::establish(&app.db_url).unwrap();
    fhirgate::store::audit::insert_many(
        &mut conn,
        &keyring,
        &tenant,
        vec![row(&a, awkward.clone()), row(&b, vec![])],
    )
    .unwrap();
    #[derive(QueryableByName)]
    struct Got {
        #[diesel(sql_type = Array<Text>)]
        entities: Vec<String>,
        #[diesel(sql_type = Array<Text>)]
        terms: Vec<String>,
    }
    let mut got = |id: &fhirgate::model::ResourceId| -> Got {
        diesel::sql_query("SELECT entities, terms FROM audit_events WHERE id = $1")
            .bind::<Text, _>(id.as_str())
            .get_result(&mut conn)
            .unwrap()
    };
    let (ga, gb) = (got(&a), got(&b));
    assert_eq!(ga.entities, awkward);
    assert!(gb.entities.is_empty());
    assert_eq!(ga.terms, ["t|1", "t|2"]);
    assert_eq!(gb.terms, ["t|1", "t|2"]);
}
