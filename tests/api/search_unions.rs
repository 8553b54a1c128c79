//! Observation's `combo-*` parameters, which the gateway answers from the rows
//! of the two parameters each is the union of (crates/fhirgate-search
//! unions.rs). Expectations from the R4 definitions: combo-code is
//! `Observation.code | Observation.component.code`, combo-value-quantity the
//! same over `value[x]` as Quantity, combo-code-value-quantity the composite of
//! the two over `Observation | Observation.component`, combo-data-absent-reason
//! over `dataAbsentReason` (search-parameters.json), with the modifier and
//! prefix rules of http://hl7.org/fhir/R4/search.html.

use serde_json::{json, Value};

use crate::helpers::*;
use crate::search_common::*;

const LOINC: &str = "http://loinc.org";
const UCUM: &str = "http://unitsofmeasure.org";

fn qty(v: u32) -> Value {
    json!({"value": v, "unit": "mm[Hg]", "system": UCUM, "code": "mm[Hg]"})
}

#[tokio::test]
async fn combo_parameters_match_root_and_component_values() {
    let app = spawn_app().await;
    // A: a panel whose systolic value is in a component.
    let (a, _) = app
        .create(&json!({
            "resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": LOINC, "code": "85354-9"}]},
            "component": [{"code": {"coding": [{"system": LOINC, "code": "8480-6"}]}, "valueQuantity": qty(120)}]
        }))
        .await;
    // B: the systolic value on its own.
    let (b, _) = app
        .create(&json!({
            "resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
            "valueQuantity": qty(130)
        }))
        .await;
    // C: no value at all, and why.
    let (c, _) = app
        .create(&json!({
            "resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": LOINC, "code": "1234-5"}]},
            "dataAbsentReason": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "asked-declined"}]}
        }))
        .await;
    let ids = |b: Value| sorted(match_ids(&b));
    let all = sorted(vec![a.clone(), b.clone(), c.clone()]);
    let cases: Vec<(&str, Vec<String>)> = vec![
        // The component's code and the root code both match (system|code, code alone).
        (
            "combo-code=http://loinc.org|8480-6",
            sorted(vec![a.clone(), b.clone()]),
        ),
        ("combo-code=8480-6", sorted(vec![a.clone(), b.clone()])),
        ("combo-code=8480-6,1234-5", all.clone()),
        ("code=8480-6", vec![b.clone()]),
        ("component-code=8480-6", vec![a.clone()]),
        // :not: no value of the parameter matches (search.html#token).
        ("combo-code:not=8480-6", vec![c.clone()]),
        ("combo-code:missing=false", all.clone()),
        ("combo-value-quantity=gt125", vec![b.clone()]),
        (
            "combo-value-quantity=gt100",
            sorted(vec![a.clone(), b.clone()]),
        ),
        ("combo-value-quantity:missing=true", vec![c.clone()]),
        (
            "combo-code-value-quantity=http://loinc.org|8480-6$gt125",
            vec![b.clone()],
        ),
        (
            "combo-code-value-quantity=http://loinc.org|8480-6$gt100",
            sorted(vec![a.clone(), b.clone()]),
        ),
        (
            "combo-code-value-quantity=http://loinc.org|85354-9$gt100",
            vec![],
        ),
        ("combo-data-absent-reason=asked-declined", vec![c.clone()]),
    ];
    for (q, want) in cases {
        let got = ids(search(&app, &format!("Observation?{q}")).await);
        assert_eq!(got, want, "{q}");
    }
    // Ascending by the lowest value: C (1234-5) first; A's lowest code is
    // 8480-6, the same as B's, so A and B tie and are ordered by id.
    let order = match_ids(&search(&app, "Observation?_sort=combo-code").await);
    assert_eq!(order.first(), Some(&c), "{order:?}");
    assert_eq!(sorted(order[1..].to_vec()), sorted(vec![a, b]));
}
