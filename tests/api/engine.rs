//! The FHIR engine called directly, without HTTP (issue #16): the semantics of
//! http.html's interactions as typed outcomes. The HTTP tests keep what is
//! HTTP's own (status codes, headers, negotiation).

use fhirgate::fhir::engine::{
    HistoryLevel, Interaction, Origin, Outcome, Principal, ReadPreconditions, Request,
};
use fhirgate::fhir::error::FhirError;
use fhirgate::model::{ResourceId, ResourceType};
use fhirgate::tenant::TenantId;
use serde_json::{json, Map, Value};

use crate::helpers::*;

const BASE: &str = "http://fhirgate.test/fhir";

fn interaction(request: Request) -> Interaction {
    Interaction {
        tenant: TenantId::default_tenant(),
        principal: Principal::anonymous_local(),
        base: BASE.into(),
        origin: Origin::default(),
        request,
    }
}

fn object(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn doc(o: Outcome) -> Value {
    match o {
        Outcome::Document(b) => serde_json::from_slice(&b).unwrap(),
        other => panic!("not a document: {other:?}"),
    }
}

async fn create(e: &TestEngine, v: Value) -> ResourceId {
    let rtype = ResourceType::parse(v["resourceType"].as_str().unwrap()).unwrap();
    let o = e
        .engine
        .run(interaction(Request::Create {
            rtype,
            resource: object(v),
            if_none_exist: None,
        }))
        .await
        .unwrap();
    match o {
        Outcome::Written { current, created } => {
            assert!(created);
            assert_eq!(current.version_id, 1);
            current.id
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn create_read_update_with_if_match_history_and_delete() {
    let e = spawn_engine().await;
    let id = create(&e, patient("Engine", "MRN-E-1")).await;
    let rtype = ResourceType::Patient;
    // http.html#read: the version written.
    let read = |pre: ReadPreconditions| {
        interaction(Request::Read {
            rtype,
            id: id.clone(),
            preconditions: pre,
        })
    };
    match e.engine.run(read(Default::default())).await.unwrap() {
        Outcome::Read(c) => {
            let v: Value = serde_json::from_slice(&c.body).unwrap();
            assert_eq!(v["name"][0]["family"], "Engine");
            assert_eq!(v["meta"]["versionId"], "1");
        }
        other => panic!("{other:?}"),
    }
    // http.html#cread: the client has version 1 already.
    let pre = ReadPreconditions {
        if_none_match: Some("W/\"1\"".into()),
        if_modified_since: None,
    };
    assert!(matches!(
        e.engine.run(read(pre)).await.unwrap(),
        Outcome::NotModified { version_id: 1 }
    ));
    // http.html#concurrency: If-Match naming an old version is 412.
    let mut changed = patient("Engine", "MRN-E-1");
    changed["id"] = json!(id.as_str());
    changed["gender"] = json!("male");
    let update = |if_match| {
        interaction(Request::Update {
            rtype,
            id: id.clone(),
            resource: object(changed.clone()),
            if_match,
        })
    };
    assert!(matches!(
        e.engine.run(update(Some(7))).await,
        Err(FhirError::PreconditionFailed(_))
    ));
    match e.engine.run(update(Some(1))).await.unwrap() {
        Outcome::Written { current, created } => {
            assert!(!created);
            assert_eq!(current.version_id, 2);
        }
        other => panic!("{other:?}"),
    }
    // http.html#history: newest first, every version.
    let h = doc(e
        .engine
        .run(interaction(Request::History {
            level: HistoryLevel::Instance(rtype, id.clone()),
            query: Vec::new(),
            raw: String::new(),
        }))
        .await
        .unwrap());
    assert_eq!(h["type"], "history");
    assert_eq!(h["total"], 2);
    assert_eq!(h["entry"][0]["resource"]["meta"]["versionId"], "2");
    assert_eq!(h["link"][0]["url"], format!("{BASE}/Patient/{id}/_history"));
    // http.html#delete, then a read is 410 and the vread of 1 still works.
    let deleted = e
        .engine
        .run(interaction(Request::Delete {
            rtype,
            id: id.clone(),
        }))
        .await
        .unwrap();
    assert!(matches!(
        deleted,
        Outcome::Deleted {
            version_id: Some(3)
        }
    ));
    assert!(matches!(
        e.engine.run(read(Default::default())).await,
        Err(FhirError::Gone(_))
    ));
    let v1 = e
        .engine
        .run(interaction(Request::Vread {
            rtype,
            id: id.clone(),
            version: 1,
        }))
        .await
        .unwrap();
    assert!(matches!(v1, Outcome::Read(c) if c.version_id == 1));
}

#[tokio::test]
async fn conditional_create_matches_and_search_finds() {
    let e = spawn_engine().await;
    let id = create(&e, patient("Cond", "MRN-E-2")).await;
    let q = vec![("identifier".to_owned(), "MRN-E-2".to_owned())];
    // http.html#ccreate: one match, nothing written, the match answered.
    let o = e
        .engine
        .run(interaction(Request::Create {
            rtype: ResourceType::Patient,
            resource: object(patient("Cond", "MRN-E-2")),
            if_none_exist: Some(("identifier=MRN-E-2".into(), q.clone())),
        }))
        .await
        .unwrap();
    assert!(matches!(&o, Outcome::Matched(c) if c.id == id), "{o:?}");
    let s = doc(e
        .engine
        .run(interaction(Request::Search {
            rtype: ResourceType::Patient,
            query: q,
            strict: false,
        }))
        .await
        .unwrap());
    assert_eq!(s["type"], "searchset");
    assert_eq!(s["total"], 1);
    assert_eq!(s["entry"][0]["fullUrl"], format!("{BASE}/Patient/{id}"));
    // search.html#errors: an unknown parameter under strict handling is 400.
    let strict = e
        .engine
        .run(interaction(Request::Search {
            rtype: ResourceType::Patient,
            query: vec![("nonsense".into(), "1".into())],
            strict: true,
        }))
        .await;
    assert!(matches!(strict, Err(FhirError::Invalid(_))));
}

#[tokio::test]
async fn a_transaction_bundle_value_is_applied_whole_or_not_at_all() {
    let e = spawn_engine().await;
    let tx = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:5a1b2c3d-0000-4000-8000-000000000001", "resource": patient("Tx", "MRN-E-3"),
         "request": {"method": "POST", "url": "Patient"}},
        {"resource": {"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
            "subject": {"reference": "urn:uuid:5a1b2c3d-0000-4000-8000-000000000001"}},
         "request": {"method": "POST", "url": "Observation"}}]});
    let r = doc(e
        .engine
        .run(interaction(Request::Bundle { bundle: tx.clone() }))
        .await
        .unwrap());
    assert_eq!(r["type"], "transaction-response");
    assert_eq!(r["entry"][1]["response"]["status"], "201 Created");
    // bundle.html#transaction: one bad entry, nothing stored.
    let mut bad = tx;
    bad["entry"][1]["resource"]["status"] = json!("not-a-status");
    assert!(e
        .engine
        .run(interaction(Request::Bundle { bundle: bad }))
        .await
        .is_err());
    let all = doc(e
        .engine
        .run(interaction(Request::Search {
            rtype: ResourceType::Observation,
            query: Vec::new(),
            strict: false,
        }))
        .await
        .unwrap());
    assert_eq!(all["total"], 1, "{all}");
}

#[tokio::test]
async fn a_principal_refused_everything_is_refused_by_the_engine() {
    let e = spawn_engine().await;
    let id = create(&e, patient("Refused", "MRN-E-4")).await;
    let mut i = interaction(Request::Read {
        rtype: ResourceType::Patient,
        id,
        preconditions: Default::default(),
    });
    i.principal = Principal::refused_everything();
    assert!(matches!(
        e.engine.run(i).await,
        Err(FhirError::Forbidden(_))
    ));
    let mut c = interaction(Request::Create {
        rtype: ResourceType::Patient,
        resource: object(patient("Refused", "MRN-E-5")),
        if_none_exist: None,
    });
    c.principal = Principal::refused_everything();
    assert!(matches!(
        e.engine.run(c).await,
        Err(FhirError::Forbidden(_))
    ));
}
