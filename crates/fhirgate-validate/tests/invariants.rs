//! The R4 invariants generated from the StructureDefinitions: every `error` constraint of the
//! generated file is enforced or excluded with a reason, and the evaluator gets the named
//! ones right on resources written from the spec's text.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeSet;

use fhirgate_validate::{Enforcement, Invariants, EXCLUDED};
use serde_json::{json, Value};

fn keys(inv: &Invariants, t: &str, v: Value) -> Vec<String> {
    inv.check(t, &v).into_iter().map(|x| x.key).collect()
}

fn at(inv: &Invariants, t: &str, v: Value) -> Vec<(String, String)> {
    inv.check(t, &v)
        .into_iter()
        .map(|x| (x.key, x.expression))
        .collect()
}

/// Read straight from the generated file, not through the loader under test.
fn generated_error_constraints() -> BTreeSet<(String, String)> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../schemas/r4-elements.json"
    ))
    .unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["fhirVersion"], "4.0.1");
    let mut out = BTreeSet::new();
    for (name, t) in doc["types"].as_object().unwrap() {
        let mut add = |context: String, c: &Value| {
            if c[1] == "error" {
                out.insert((context, c[0].as_str().unwrap().to_owned()));
            }
        };
        for c in t["constraints"].as_array().unwrap() {
            add(name.clone(), c);
        }
        for e in t["elements"].as_array().unwrap() {
            for c in e[4].as_array().unwrap() {
                add(format!("{name}.{}", e[0].as_str().unwrap()), c);
            }
        }
    }
    out
}

#[test]
fn every_error_constraint_is_evaluated_or_excluded() {
    let inv = Invariants::load().unwrap();
    let generated = generated_error_constraints();
    assert!(generated.len() > 60, "{}", generated.len());
    let mut seen = BTreeSet::new();
    for (c, how) in inv.constraints() {
        if c.severity != "error" {
            assert_eq!(how, Enforcement::Warning, "{}", c.key);
            continue;
        }
        seen.insert((c.context.clone(), c.key.clone()));
        match how {
            Enforcement::Evaluated | Enforcement::Native => {}
            Enforcement::Excluded => {
                let reason = EXCLUDED.iter().find(|(k, _)| *k == c.key).unwrap().1;
                assert!(reason.len() > 20, "{}: no reason", c.key);
            }
            Enforcement::Warning => panic!("{} is an error constraint", c.key),
        }
    }
    assert_eq!(seen, generated);
    for (key, _) in EXCLUDED {
        assert!(
            generated.iter().any(|(_, k)| k == key),
            "{key} is excluded but not in the generated file"
        );
    }
    // The named ones of the issue are all evaluated from their expressions.
    for key in ["ref-1", "dom-3", "qty-3", "att-1", "obs-3", "app-1"] {
        assert!(inv
            .constraints()
            .any(|(c, how)| c.key == key && how == Enforcement::Evaluated));
    }
}

fn obs(extra: Value) -> Value {
    let mut o = json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}});
    for (k, v) in extra.as_object().unwrap() {
        o[k] = v.clone();
    }
    o
}

#[test]
fn ref_1_local_reference_needs_its_contained_resource() {
    let inv = Invariants::load().unwrap();
    let bad = obs(json!({"subject": {"reference": "#p1"}}));
    assert_eq!(
        at(&inv, "Observation", bad),
        [("ref-1".into(), "Observation.subject".into())]
    );
    let good = obs(
        json!({"contained": [{"resourceType": "Patient", "id": "p1"}],
                          "subject": {"reference": "#p1"}}),
    );
    assert!(keys(&inv, "Observation", good).is_empty());
}

#[test]
fn dom_3_contained_resource_must_be_referenced() {
    let inv = Invariants::load().unwrap();
    let bad = obs(json!({"contained": [{"resourceType": "Patient", "id": "p1"}]}));
    assert_eq!(keys(&inv, "Observation", bad), ["dom-3"]);
    // Referenced from another contained resource counts; so does a contained resource that
    // refers to its container with "#".
    let chained = obs(json!({"contained": [
        {"resourceType": "Patient", "id": "p1", "generalPractitioner": [{"reference": "#d1"}]},
        {"resourceType": "Practitioner", "id": "d1"}],
        "subject": {"reference": "#p1"}}));
    assert!(keys(&inv, "Observation", chained).is_empty());
    let back = obs(json!({"contained": [{"resourceType": "Patient", "id": "p1",
        "link": [{"other": {"reference": "#"}, "type": "seealso"}]}]}));
    assert!(keys(&inv, "Observation", back).is_empty());
}

#[test]
fn qty_3_att_1_obs_3_app_1() {
    let inv = Invariants::load().unwrap();
    let q = obs(json!({"valueQuantity": {"value": 1, "code": "mg"}}));
    assert_eq!(
        at(&inv, "Observation", q),
        [("qty-3".into(), "Observation.valueQuantity".into())]
    );
    let q = obs(
        json!({"valueQuantity": {"value": 1, "code": "mg", "system": "http://unitsofmeasure.org"}}),
    );
    assert!(keys(&inv, "Observation", q).is_empty());

    let p = json!({"resourceType": "Patient", "photo": [{"data": "aGVsbG8="}]});
    assert_eq!(
        at(&inv, "Patient", p),
        [("att-1".into(), "Patient.photo[0]".into())]
    );

    let rr =
        obs(json!({"referenceRange": [{"text": "normal"}, {"appliesTo": [{"text": "adults"}]}]}));
    assert_eq!(
        at(&inv, "Observation", rr),
        [("obs-3".into(), "Observation.referenceRange[1]".into())]
    );

    let a = json!({"resourceType": "Appointment", "status": "proposed",
                   "participant": [{"required": "required", "status": "accepted"}]});
    assert_eq!(
        at(&inv, "Appointment", a),
        [("app-1".into(), "Appointment.participant[0]".into())]
    );
}

#[test]
fn reference_target_types() {
    let inv = Invariants::load().unwrap();
    for r in [
        json!({"reference": "Practitioner/1"}),
        json!({"reference": "http://example.org/fhir/Practitioner/1/_history/2"}),
        json!({"reference": "urn:uuid:8f4a3a52-0f4c-4d36-94b7-d3bd9c1e1a11", "type": "Practitioner"}),
    ] {
        let v = obs(json!({"subject": r}));
        assert_eq!(
            at(&inv, "Observation", v),
            [("fhirgate-ref-1".into(), "Observation.subject".into())]
        );
    }
    let contained = obs(
        json!({"contained": [{"resourceType": "Practitioner", "id": "d"}],
                               "subject": {"reference": "#d"}}),
    );
    assert_eq!(keys(&inv, "Observation", contained), ["fhirgate-ref-1"]);
    // Allowed, served or not; and unknown target types are not judged.
    for r in [
        "Patient/1",
        "Group/2",
        "Device/3",
        "Location/4",
        "urn:uuid:1",
        "http://x.org/y",
    ] {
        assert!(
            keys(
                &inv,
                "Observation",
                obs(json!({"subject": {"reference": r}}))
            )
            .is_empty(),
            "{r}"
        );
    }
    // Any resource where the element allows Reference(Any).
    let ext = obs(
        json!({"extension": [{"url": "http://x.org/e", "valueReference": {"reference": "Practitioner/1"}}]}),
    );
    assert!(keys(&inv, "Observation", ext).is_empty());
}

#[test]
fn typed_evaluation_details() {
    let inv = Invariants::load().unwrap();
    // per-1 compares dates at their common precision; different precision is not a violation.
    let p = |s: &str, e: &str| json!({"resourceType": "Patient", "name": [{"period": {"start": s, "end": e}}]});
    assert_eq!(keys(&inv, "Patient", p("2020-02", "2019")), ["per-1"]);
    assert!(keys(&inv, "Patient", p("2020-02", "2020")).is_empty());
    assert_eq!(
        keys(
            &inv,
            "Patient",
            p("2020-01-01T10:00:00+01:00", "2020-01-01T08:30:00Z")
        ),
        ["per-1"]
    );
    assert!(keys(
        &inv,
        "Patient",
        p("2020-01-01T10:00:00+02:00", "2020-01-01T08:30:00Z")
    )
    .is_empty());
    // A choice element named by its base name, in a contained resource of a served type.
    let c = json!({"resourceType": "Patient", "contained": [obs(json!({"id": "o", "valueString": "x",
        "dataAbsentReason": {"text": "y"}}))], "extension": [{"url": "http://x.org/e",
        "valueReference": {"reference": "#o"}}]});
    assert_eq!(
        at(&inv, "Patient", c),
        [("obs-6".into(), "Patient.contained[0]".into())]
    );
    // ext-1 and ele-1, natively.
    let e = json!({"resourceType": "Patient", "extension": [{"url": "u"}], "gender": "male", "_gender": {"id": "g"},
        "_birthDate": {"id": "x"}, "name": [{"id": "n"}]});
    assert_eq!(keys(&inv, "Patient", e), ["ext-1", "ele-1", "ele-1"]);
    // sqty-1 on a SimpleQuantity element; Timing's tim-9 with select() and allFalse().
    let m = json!({"resourceType": "MedicationRequest", "status": "active", "intent": "order",
        "medicationCodeableConcept": {"text": "x"}, "subject": {"reference": "Patient/1"},
        "dosageInstruction": [{"timing": {"repeat": {"offset": 30, "when": ["C"]}},
            "doseAndRate": [{"doseQuantity": {"value": 1, "comparator": "<"}}]}]});
    assert_eq!(keys(&inv, "MedicationRequest", m), ["tim-9", "sqty-1"]);
}
