//! Unit tests of `filter.rs`: what each kind of source Bundle becomes.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]
use super::*;

fn run(b: Value) -> (Value, Prepared) {
    let p = prepare(
        b,
        Options {
            identifier_match: true,
        },
    )
    .unwrap();
    let v = serde_json::from_slice(p.body.as_deref().unwrap()).unwrap();
    (v, p)
}

#[test]
fn drops_unserved_and_detaches_references() {
    let (v, p) = run(
        json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"fullUrl": "urn:uuid:e1", "resource": {"resourceType": "Encounter", "identifier": [{"system": "s", "value": "v"}]},
             "request": {"method": "POST", "url": "Encounter"}},
            {"fullUrl": "urn:uuid:m1", "resource": {"resourceType": "Medication", "code": {"text": "x"}},
             "request": {"method": "POST", "url": "Medication"}},
            {"fullUrl": "urn:uuid:o1", "resource": {"resourceType": "Observation", "encounter": {"reference": "urn:uuid:e1"},
             "hasMember": [{"reference": "Encounter/9", "display": "kept"}]},
             "request": {"method": "POST", "url": "Observation"}},
            {"fullUrl": "urn:uuid:r1", "resource": {"resourceType": "MedicationRequest", "medicationReference": {"reference": "urn:uuid:m1"}},
             "request": {"method": "POST", "url": "MedicationRequest"}},
            {"fullUrl": "urn:uuid:p1", "resource": {"resourceType": "Patient", "identifier": [{"value": "no system"}, {"system": "a", "value": "b c"}]},
             "request": {"method": "POST", "url": "Patient"}}
        ]}),
    );
    assert_eq!(p.unserved.get("Encounter"), Some(&1));
    assert_eq!(p.unserved.get("Medication"), Some(&1));
    assert_eq!(p.rewritten, 2);
    let e = v["entry"].as_array().unwrap();
    assert_eq!(e.len(), 3);
    // The conditional create goes first.
    assert_eq!(e[0]["request"]["ifNoneExist"], "identifier=a%7Cb+c");
    assert_eq!(
        e[1]["resource"]["encounter"],
        json!({"type": "Encounter", "identifier": {"system": "s", "value": "v"}, "display": "Encounter (not imported by fhirgate)"})
    );
    // A `Type/id` reference to an unserved type is kept, as PUT keeps it.
    assert_eq!(
        e[1]["resource"]["hasMember"][0],
        json!({"reference": "Encounter/9", "display": "kept"})
    );
    assert_eq!(
        e[2]["resource"]["medicationCodeableConcept"],
        json!({"text": "x"})
    );
    assert!(e[2]["resource"].get("medicationReference").is_none());
    assert_eq!(p.sent[0].rtype, "Patient");
}

#[test]
fn collections_become_transactions() {
    let (v, _) = run(
        json!({"resourceType": "Bundle", "type": "collection", "entry": [
            {"fullUrl": "urn:uuid:p1", "resource": {"resourceType": "Patient", "id": "p-1"}},
            {"resource": {"resourceType": "Patient"}}
        ]}),
    );
    assert_eq!(v["type"], "transaction");
    assert_eq!(
        v["entry"][0]["request"],
        json!({"method": "PUT", "url": "Patient/p-1"})
    );
    assert_eq!(v["entry"][0]["fullUrl"], "urn:uuid:p1");
    assert_eq!(
        v["entry"][1]["request"],
        json!({"method": "POST", "url": "Patient"})
    );
    let kind = |t: &str| {
        prepare(
            json!({"resourceType": "Bundle", "type": t}),
            Options {
                identifier_match: false,
            },
        )
        .err()
    };
    for t in [
        "batch-response",
        "transaction-response",
        "searchset",
        "history",
    ] {
        assert!(
            matches!(kind(t), Some(NotSent::Response(_))),
            "{t}: {:?}",
            kind(t)
        );
    }
    assert!(matches!(kind("message"), Some(NotSent::Invalid(_))));
    assert!(kind("collection").is_none());
}
