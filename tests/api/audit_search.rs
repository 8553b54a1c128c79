//! Every R4 AuditEvent search parameter (http://hl7.org/fhir/R4/auditevent.html#search)
//! over the server's own AuditEvents. Expectations follow from the event shape
//! (src/audit/event.rs: entity.type/role codes, source.site "fhirgate", no
//! agent name, altId, role or policy, a display-only source.observer) and the
//! search rules of http://hl7.org/fhir/R4/search.html. Searching AuditEvents
//! writes AuditEvents too (search-type, query entity), so results are checked as
//! sets of ids rather than by moving totals.

use std::collections::BTreeSet;

use crate::helpers::*;
use serde_json::{json, Value};

const ROLE: &str = "http://terminology.hl7.org/CodeSystem/object-role";
const ETYPE: &str = "http://terminology.hl7.org/CodeSystem/audit-entity-type";

/// The AuditEvents matching `query` (one page of up to 1000).
async fn events(app: &TestApp, query: &str) -> Vec<Value> {
    let resp = app.get(&format!("AuditEvent?_count=1000&{query}")).await;
    assert_eq!(resp.status(), 200, "{query}");
    let bundle: Value = resp.json().await.unwrap();
    assert!(bundle["link"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["relation"] != "next"));
    bundle["entry"]
        .as_array()
        .map(|es| es.iter().map(|e| e["resource"].clone()).collect())
        .unwrap_or_default()
}

fn ids(events: &[Value]) -> BTreeSet<String> {
    events
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

fn subtype(e: &Value) -> &str {
    e["subtype"][0]["code"].as_str().unwrap()
}

/// The entity descriptions of a search event ("Patient query").
fn described(events: &[Value], what: &str) -> bool {
    events.iter().any(|e| {
        e["entity"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|x| x["description"] == what)
    })
}

fn has_entity(e: &Value, field: &str, code: &str) -> bool {
    e["entity"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|x| x[field]["code"] == code)
}

#[tokio::test]
async fn every_auditevent_parameter_is_searchable() {
    let app = spawn_app().await;
    let (pid, _) = app.create(&patient("Auditsearch", "AS-1")).await;
    let obs = json!({
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": format!("Patient/{pid}")}
    });
    app.create(&obs).await;
    assert_eq!(app.get(&format!("Patient/{pid}")).await.status(), 200);
    assert_eq!(app.get("Patient?gender=female").await.status(), 200);
    assert_eq!(
        app.get(&format!("Observation?subject=Patient/{pid}"))
            .await
            .status(),
        200
    );

    // Reads and searches are audited through the batched writer: wait for them.
    let mut all = Vec::new();
    for _ in 0..50 {
        all = events(&app, "").await;
        let read = all.iter().any(|e| subtype(e) == "read");
        if read && described(&all, "Patient query") && described(&all, "Observation query") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let all_ids = ids(&all);
    let creates = events(&app, "subtype=create").await;
    assert_eq!(creates.len(), 2);

    // entity-role: object-role 24 (Query) is the search events' query entity;
    // creates carry roles 4 (the resource) and 1 (the patient) only.
    let queries = events(&app, &format!("entity-role={ROLE}|24")).await;
    assert!(described(&queries, "Patient query") && described(&queries, "Observation query"));
    for e in &queries {
        assert_eq!(subtype(e), "search-type", "{e}");
        assert!(has_entity(e, "role", "24"), "{e}");
    }
    assert!(ids(&creates).is_disjoint(&ids(&queries)));
    // The code alone matches too; a code of another system does not.
    assert!(ids(&queries).is_subset(&ids(&events(&app, "entity-role=24").await)));
    assert!(events(&app, "entity-role=http://example.org/roles|24")
        .await
        .is_empty());
    let domain = events(&app, &format!("entity-role={ROLE}|4")).await;
    assert!(ids(&creates).is_subset(&ids(&domain)));

    // entity-type 1 (Person) is the patient entity: both creates (the Patient
    // itself, and the Observation's subject) and the read of the Patient;
    // searches name no patient.
    let persons = events(&app, "entity-type=1").await;
    assert_eq!(persons.len(), 3, "{persons:?}");
    let mut kinds: Vec<&str> = persons.iter().map(subtype).collect();
    kinds.sort_unstable();
    assert_eq!(kinds, ["create", "create", "read"]);
    assert!(persons.iter().all(|e| has_entity(e, "type", "1")));
    assert_eq!(
        ids(&events(&app, &format!("entity-type={ETYPE}|1")).await),
        ids(&persons)
    );
    // `:not` also matches events with no entity type at all (search.html#modifiers).
    let not_person = ids(&events(&app, "entity-type:not=1").await);
    assert!(not_person.is_disjoint(&ids(&persons)));
    assert!(ids(&queries).is_subset(&not_person));

    // site: source.site is "fhirgate" on every event (a string searched as a
    // token: no system).
    for q in ["site=fhirgate", "site=|fhirgate", "agent-name:missing=true"] {
        let found = events(&app, q).await;
        assert!(all_ids.is_subset(&ids(&found)), "{q}");
    }
    for q in [
        "site=other",
        "site=Fhirgate",
        "site=http://example.org|fhirgate",
        "site:missing=true",
    ] {
        assert!(events(&app, q).await.is_empty(), "{q}");
    }

    // The server writes no agent name, alt id, agent role, policy, entity name or
    // source.observer reference: nothing matches them, and all are missing.
    for q in [
        "agent-name=fhirgate",
        "agent-name:exact=fhirgate",
        "agent-name:missing=false",
        "entity-name=Patient",
        "altid=fhirgate",
        "agent-role=110153",
        "policy=x",
        "policy:below=http",
        "source=Device/fhirgate",
        "source=fhirgate",
    ] {
        assert!(events(&app, q).await.is_empty(), "{q}");
    }
    for p in ["altid", "agent-role", "entity-name", "policy", "source"] {
        let found = events(&app, &format!("{p}:missing=true")).await;
        assert!(all_ids.is_subset(&ids(&found)), "{p}");
    }
    // entity-type and entity-role are present on every event that has an entity.
    assert!(!events(&app, "entity-role:missing=false").await.is_empty());

    // _lastUpdated is recorded (meta.lastUpdated is set to it).
    let day = creates[0]["recorded"].as_str().unwrap()[..10].to_owned();
    assert_eq!(creates[0]["meta"]["lastUpdated"], creates[0]["recorded"]);
    let recent = events(&app, &format!("_lastUpdated=ge{day}")).await;
    assert!(all_ids.is_subset(&ids(&recent)));
    assert!(events(&app, &format!("_lastUpdated=lt{day}"))
        .await
        .is_empty());

    // Encrypted (PHI) strings: no substring search; malformed values are 400s.
    for q in [
        "entity-name:contains=x",
        "agent-name:missing=maybe",
        "policy:above=http://x",
        "site:text=x",
    ] {
        assert_outcome(app.get(&format!("AuditEvent?{q}")).await, 400).await;
    }
}

#[tokio::test]
async fn capability_statement_lists_every_auditevent_parameter() {
    let app = spawn_app().await;
    let cs = app.get_value("metadata").await;
    let audit = cs["rest"][0]["resource"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "AuditEvent")
        .unwrap();
    let mut params: Vec<&str> = audit["searchParam"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    params.sort_unstable();
    assert_eq!(
        params,
        [
            "_id",
            "_lastUpdated",
            "action",
            "address",
            "agent",
            "agent-name",
            "agent-role",
            "altid",
            "date",
            "entity",
            "entity-name",
            "entity-role",
            "entity-type",
            "outcome",
            "patient",
            "policy",
            "site",
            "source",
            "subtype",
            "type",
        ]
    );
}
