#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use chrono::Utc;
use serde_json::json;

use super::*;
use crate::audit::event;
use crate::crypto::KeyBytes;
use crate::model::ResourceId;

const ROLE: &str = "http://terminology.hl7.org/CodeSystem/object-role";
const ETYPE: &str = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
const PART: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";

fn indexer() -> BlindIndexer {
    BlindIndexer::new(KeyBytes([7; 32]))
}

/// An AuditEvent with every term parameter filled in (more than the server writes).
fn full_event() -> Value {
    json!({
        "resourceType": "AuditEvent",
        "agent": [{
            "name": "Dr Åda Zyxqvorth",
            "altId": "emp-99120",
            "role": [{"coding": [{"system": PART, "code": "AUT"}], "text": "author"}],
            "policy": ["http://example.org/policy/1"],
            "who": {"reference": "Practitioner/pr1"},
            "requestor": true
        }],
        "entity": [{
            "name": "Quillonbeck chart",
            "what": {"reference": "Patient/p1"},
            "role": {"system": ROLE, "code": "4"},
            "type": {"system": ETYPE, "code": "2"}
        }],
        "source": {
            "site": "Ward 3",
            "observer": {"reference": "http://example.org/fhir/Device/dev-1/_history/2"}
        }
    })
}

#[test]
fn every_term_kind_worked_out_by_hand() {
    let ix = indexer();
    let got = encode(&ix, &values(&full_event()));
    let bi = |p: &str, purpose: &str, v: &str| blind(&ix, p, purpose, v);
    let mut want = vec![
        format!(
            "agent-name|bi|{}",
            bi("agent-name", "exact", "Dr Åda Zyxqvorth")
        ),
        format!(
            "agent-name|bn|{}",
            bi("agent-name", "norm", &fold("Dr Åda Zyxqvorth"))
        ),
        format!("agent-role|sc|{PART}|AUT"),
        "agent-role|c|AUT".to_owned(),
        format!("agent-role|s|{PART}"),
        format!("altid|bi|{}", bi("altid", "exact", "emp-99120")),
        format!(
            "entity-name|bi|{}",
            bi("entity-name", "exact", "Quillonbeck chart")
        ),
        format!(
            "entity-name|bn|{}",
            bi("entity-name", "norm", "quillonbeck chart")
        ),
        format!("entity-role|sc|{ROLE}|4"),
        "entity-role|c|4".to_owned(),
        format!("entity-role|s|{ROLE}"),
        format!("entity-type|sc|{ETYPE}|2"),
        "entity-type|c|2".to_owned(),
        format!("entity-type|s|{ETYPE}"),
        "policy|u|http://example.org/policy/1".to_owned(),
        // source.site is a string searched as a token: a code without a system.
        "site|c|Ward 3".to_owned(),
        "site|n|Ward 3".to_owned(),
        "source|r|Device/dev-1".to_owned(),
        "source|id|dev-1".to_owned(),
    ];
    want.sort();
    assert_eq!(got, want);
    // Blind indexes are 16 bytes, 32 hex digits.
    assert!(got[0].ends_with(|c: char| c.is_ascii_hexdigit()));
    assert_eq!(got[0].len(), "agent-name|bi|".len() + 32);
}

#[test]
fn phi_never_in_the_clear() {
    let got = encode(&indexer(), &values(&full_event())).join("\n");
    for secret in ["zyxqvorth", "emp-99120", "quillonbeck", "chart"] {
        assert!(!got.to_lowercase().contains(secret), "{secret} in {got}");
    }
    // The blind index of a value differs per column key.
    let ix = indexer();
    assert_ne!(
        blind(&ix, "agent-name", "exact", "x"),
        blind(&ix, "entity-name", "exact", "x")
    );
    assert_ne!(
        blind(&ix, "agent-name", "exact", "x"),
        blind(&ix, "agent-name", "norm", "x")
    );
}

/// The server's own events: read and search of a patient, and a create.
fn server_events() -> Vec<Value> {
    let id = ResourceId::generate();
    event::sample_records()
        .iter()
        .take(3)
        .map(|r| event::to_resource(r, &id, Utc::now()))
        .collect()
}

#[test]
fn server_events_get_their_documented_terms() {
    let ix = indexer();
    let terms: Vec<Vec<String>> = server_events()
        .iter()
        .map(|e| encode(&ix, &values(e)))
        .collect();
    for t in &terms {
        // Every event names its site; none has names, alt ids, roles of agents,
        // policies or an observer reference (src/audit/event.rs).
        assert!(t.contains(&"site|c|fhirgate".to_owned()), "{t:?}");
        for p in [
            "agent-name",
            "agent-role",
            "altid",
            "entity-name",
            "policy",
            "source",
        ] {
            assert!(
                !t.iter().any(|x| x.starts_with(&format!("{p}|"))),
                "{p}: {t:?}"
            );
        }
    }
    let [read, search, create] = terms.as_slice() else {
        panic!("three events")
    };
    // The read: the resource (domain resource, system object) and the patient (person).
    assert!(read.contains(&format!("entity-role|sc|{ROLE}|4")));
    assert!(read.contains(&format!("entity-role|sc|{ROLE}|1")));
    assert!(read.contains(&format!("entity-type|sc|{ETYPE}|1")));
    // The search: a query entity (role 24), no patient entity.
    assert!(search.contains(&format!("entity-role|sc|{ROLE}|24")));
    assert!(!search.contains(&"entity-type|c|1".to_owned()));
    // The create: the resource only.
    assert!(!create.contains(&"entity-role|c|24".to_owned()));
    assert!(create.contains(&"entity-type|c|2".to_owned()));
}

/// The terms read from the server's own event struct are those of its JSON.
#[test]
fn struct_terms_agree_with_the_json_walk() {
    let ix = indexer();
    let id = ResourceId::generate();
    let recorded = Utc::now();
    let text = crate::time::instant(recorded);
    for r in event::sample_records() {
        let built = event::build(&r, &id, &text);
        let json = event::to_resource(&r, &id, recorded);
        assert_eq!(
            encode(&ix, &of_event(&built)),
            encode(&ix, &values(&json)),
            "{json}"
        );
    }
}

/// The direct walk gives the same terms as the R4 SearchParameter expressions
/// evaluated by the registry, for the full event and the server's own ones.
#[test]
fn walk_agrees_with_the_registry() {
    let registry = fhirgate_search::Registry::r4(&["AuditEvent"]).unwrap();
    let ix = indexer();
    let mut events = server_events();
    events.push(full_event());
    for e in &events {
        let extracted: Vec<IndexEntry> = registry
            .extract("AuditEvent", e)
            .into_iter()
            .filter(|x| TERM_PARAMS.contains(&x.param.as_str()))
            .collect();
        assert_eq!(encode(&ix, &values(e)), encode(&ix, &extracted), "{e}");
    }
}

#[test]
fn restful_references() {
    assert_eq!(restful("Device/d1"), Some(("Device", "d1")));
    assert_eq!(
        restful("https://h.example/fhir/Device/d1/_history/3"),
        Some(("Device", "d1"))
    );
    assert_eq!(
        restful("urn:uuid:0b8a3c5e-1f1d-4c1e-9f5a-0c3f1d2e4b6a"),
        None
    );
    assert_eq!(restful("#contained"), None);
    assert_eq!(restful("Device?identifier=x"), None);
    assert_eq!(restful("ftp://h/Device/d1"), None);
    assert_eq!(restful("d1"), None);
}
