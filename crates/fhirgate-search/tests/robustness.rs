//! Extraction never panics, whatever the JSON: wrong types everywhere,
//! junk values, deep nesting, mutated official examples.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use common::*;
use serde_json::{Map, Value};

/// xorshift64*: deterministic, dependency-free randomness.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

const KEYS: &[&str] = &[
    "resourceType",
    "id",
    "meta",
    "lastUpdated",
    "profile",
    "tag",
    "security",
    "source",
    "name",
    "family",
    "given",
    "prefix",
    "suffix",
    "text",
    "telecom",
    "system",
    "value",
    "use",
    "identifier",
    "type",
    "coding",
    "code",
    "display",
    "reference",
    "address",
    "line",
    "city",
    "postalCode",
    "country",
    "state",
    "birthDate",
    "deceasedBoolean",
    "deceasedDateTime",
    "deceased",
    "gender",
    "active",
    "contained",
    "component",
    "valueQuantity",
    "valueCodeableConcept",
    "valueString",
    "valueDateTime",
    "valuePeriod",
    "valueSampledData",
    "effectiveDateTime",
    "effectivePeriod",
    "effectiveTiming",
    "effectiveInstant",
    "start",
    "end",
    "event",
    "repeat",
    "boundsPeriod",
    "subject",
    "performer",
    "participant",
    "actor",
    "status",
    "agent",
    "who",
    "entity",
    "what",
    "network",
    "address",
    "policy",
    "medicationReference",
    "medicationCodeableConcept",
    "dosageInstruction",
    "timing",
    "authoredOn",
    "recorded",
    "communication",
    "language",
    "managingOrganization",
    "generalPractitioner",
    "link",
    "other",
    "dataAbsentReason",
    "category",
    "unit",
    "origin",
    "_given",
    "code",
    "subtype",
    "action",
    "outcome",
];

const STRINGS: &[&str] = &[
    "",
    "Patient/1",
    "#o1",
    "#",
    "Patient/",
    "/",
    "//",
    "http://x/Patient/1/_history/2",
    "http://",
    "urn:uuid:x",
    "2020",
    "2020-02-30",
    "2020-01-01T10:00:00+14:00",
    "9999-12-31T23:59:59.9999999999Z",
    "0001",
    "0000-00-00",
    "phone",
    "email",
    "true",
    "false",
    "\u{0}",
    "é",
    "Patient",
    "Observation",
    "Organization",
    "o1",
    "T",
    "-",
    "2020-01-01T24:00:00Z",
    "2020-01-01T10:00:00.Z",
    "Patient/1/_history/_history",
];

const NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1.50",
    "1e400",
    "123456789012345678901234567890",
    "-0.0",
];

fn junk(rng: &mut Rng, depth: usize) -> Value {
    let leaf = depth == 0;
    match rng.below(if leaf { 4 } else { 7 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 0),
        2 => {
            let n: &&str = rng.pick(NUMBERS);
            serde_json::from_str(n).unwrap()
        }
        3 => Value::String(rng.pick(STRINGS).to_string()),
        4 => Value::Array((0..rng.below(4)).map(|_| junk(rng, depth - 1)).collect()),
        _ => {
            let mut m = Map::new();
            for _ in 0..rng.below(6) {
                m.insert(rng.pick(KEYS).to_string(), junk(rng, depth - 1));
            }
            if rng.below(3) == 0 {
                m.insert(
                    "resourceType".into(),
                    Value::String((*rng.pick(&TYPES[..])).to_string()),
                );
            }
            Value::Object(m)
        }
    }
}

#[test]
fn random_shapes_never_panic() {
    let reg = registry();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for i in 0..3000 {
        let mut v = junk(&mut rng, 6);
        if i % 2 == 0 {
            if let Value::Object(m) = &mut v {
                m.insert("resourceType".into(), Value::String(TYPES[i % 6].into()));
            }
        }
        for t in TYPES {
            let _ = reg.extract(t, &v);
        }
    }
}

#[test]
fn wrong_top_level_and_unknown_types() {
    let reg = registry();
    for v in [
        Value::Null,
        Value::Bool(true),
        serde_json::json!(1),
        serde_json::json!("Patient"),
        serde_json::json!([{"resourceType": "Patient", "id": "x"}]),
        serde_json::json!({}),
    ] {
        for t in TYPES {
            // Only an object can yield anything (deceased on an empty
            // Patient is still `false`).
            let e = reg.extract(t, &v);
            assert!(v.is_object() || e.is_empty(), "{t} {v}");
        }
        assert!(reg.extract("NotAType", &v).is_empty());
    }
}

#[test]
fn deep_nesting_never_panics() {
    let reg = registry();
    // Alternating array/object layers, 1000 deep (built without cloning).
    let mut deep = Value::String("Patient/1".into());
    for i in 0..1000 {
        deep = if i % 2 == 0 {
            Value::Array(vec![deep])
        } else {
            serde_json::json!({ "reference": deep, "coding": [] })
        };
    }
    let p = serde_json::json!({
        "resourceType": "Patient",
        "telecom": deep, "name": deep, "generalPractitioner": deep,
        "contained": [deep, {"resourceType": "Patient", "id": "x", "contained": deep}],
        "managingOrganization": {"reference": "#x"}
    });
    for t in TYPES {
        let _ = reg.extract(t, &p);
    }
}

/// Collects JSON pointers to every node.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                pointers(
                    c,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                pointers(c, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

#[test]
fn mutated_official_examples_never_panic() {
    let reg = registry();
    let mut rng = Rng(42);
    let mut files: Vec<_> = std::fs::read_dir(examples_dir())
        .expect("examples dir must exist")
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| TYPES.iter().any(|t| n.starts_with(&format!("{t}-"))))
        .collect();
    files.sort();
    assert!(files.len() > 50);
    for f in &files {
        let original = example(f);
        let rt = original["resourceType"].as_str().unwrap().to_string();
        let mut ptrs = Vec::new();
        pointers(&original, String::new(), &mut ptrs);
        for _ in 0..30 {
            let mut v = original.clone();
            for _ in 0..3 {
                let p = rng.pick(&ptrs).clone();
                if let Some(slot) = v.pointer_mut(&p) {
                    *slot = junk(&mut rng, 3);
                }
            }
            let _ = reg.extract(&rt, &v);
        }
    }
}

#[test]
fn large_arrays_stay_linear() {
    // 20k components: unions, composites and dedup must not go quadratic.
    let components: Vec<Value> = (0..20_000)
        .map(|i| {
            serde_json::json!({
                "code": {"coding": [{"system": "s", "code": format!("c{i}")}]},
                "valueQuantity": {"value": i, "code": "mg"}
            })
        })
        .collect();
    let o = serde_json::json!({"resourceType": "Observation", "component": components});
    let start = std::time::Instant::now();
    let e = registry().extract("Observation", &o);
    assert_eq!(values(&e, "component-code").len(), 20_000);
    // combo-code is answered from code and component-code (unions.rs).
    assert_eq!(values(&e, "combo-code").len(), 0);
    assert_eq!(values(&e, "component-code-value-quantity").len(), 20_000);
    assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());
}
