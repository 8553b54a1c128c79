//! FHIRPath subset: parsing and typed evaluation.
use serde_json::{json, Value};

use super::model;
use crate::fhirpath::{parse, Evaluator, Item};

/// Evaluates `expr` on `resource` and renders each result item.
fn eval(expr: &str, resource: &Value) -> Vec<String> {
    let e = parse(expr).unwrap();
    let rt = resource["resourceType"].as_str().unwrap();
    let ev = Evaluator::new(model(), resource, rt);
    ev.eval_root(&e)
        .iter()
        .map(|i| match i {
            Item::Node { value, ty } => format!("{ty}:{value}"),
            Item::Bool(b) => format!("bool:{b}"),
            Item::Str(s) => format!("str:{s}"),
            Item::Num(n) => format!("num:{n}"),
            Item::Resolved(t) => format!("resolved:{t}"),
        })
        .collect()
}

fn patient() -> Value {
    json!({
        "resourceType": "Patient",
        "id": "p",
        "contained": [{"resourceType": "Organization", "id": "o1"}],
        "identifier": [{"system": "phone", "value": "1"}],
        "telecom": [
            {"system": "phone", "value": "555"},
            {"system": "email", "value": "a@b"},
            {"value": "nosys"}
        ],
        "deceasedBoolean": false,
        "managingOrganization": {"reference": "#o1"},
        "generalPractitioner": [
            {"reference": "Practitioner/1"},
            {"reference": "http://x/fhir/Organization/2"},
            {"reference": "urn:uuid:1", "type": "Practitioner"},
            {"display": "nobody"}
        ]
    })
}

#[test]
fn types_drive_navigation_not_shape() {
    let p = patient();
    // Identifier and ContactPoint look alike; the model tells them apart.
    assert_eq!(
        eval("Patient.telecom.where(system='phone')", &p),
        vec![r#"ContactPoint:{"system":"phone","value":"555"}"#]
    );
    assert_eq!(
        eval("Patient.identifier.system", &p),
        vec![r#"uri:"phone""#]
    );
    assert_eq!(
        eval("Patient.telecom.system", &p),
        vec![r#"code:"phone""#, r#"code:"email""#]
    );
    // Choice element typed by its suffix.
    assert_eq!(eval("Patient.deceased", &p), vec!["boolean:false"]);
    assert_eq!(
        eval("Patient.deceased.ofType(boolean)", &p),
        vec!["boolean:false"]
    );
    assert_eq!(
        eval("Patient.deceased.ofType(dateTime)", &p),
        Vec::<String>::new()
    );
    assert_eq!(eval("Patient.deceased is Boolean", &p), vec!["bool:true"]);
    // Resource-level rooting and the root type check.
    assert_eq!(eval("Resource.id", &p), vec![r#"id:"p""#]);
    assert_eq!(eval("Observation.id", &p), Vec::<String>::new());
}

#[test]
fn resolve_is_type() {
    let p = patient();
    assert_eq!(
        eval(
            "Patient.generalPractitioner.where(resolve() is Practitioner).reference",
            &p
        ),
        vec![r#"string:"Practitioner/1""#, r#"string:"urn:uuid:1""#]
    );
    assert_eq!(
        eval("Patient.generalPractitioner.resolve()", &p),
        // The urn: reference falls back to Reference.type; display-only: none.
        vec![
            "resolved:Practitioner",
            "resolved:Organization",
            "resolved:Practitioner"
        ]
    );
    // `#id` resolves to the contained resource itself.
    assert_eq!(
        eval("Patient.managingOrganization.resolve().id", &p),
        vec![r#"id:"o1""#]
    );
    assert_eq!(
        eval(
            "Patient.managingOrganization.where(resolve() is DomainResource).exists()",
            &p
        ),
        vec!["bool:true"]
    );
}

#[test]
fn logic_equality_union_and_functions() {
    let p = patient();
    assert_eq!(
        eval(
            "Patient.deceased.exists() and Patient.deceased != false",
            &p
        ),
        vec!["bool:false"]
    );
    assert_eq!(
        eval("Patient.active.exists() and Patient.active != false", &p),
        vec!["bool:false"]
    );
    assert_eq!(eval("Patient.active = true", &p), Vec::<String>::new());
    assert_eq!(eval("Patient.active or true", &p), vec!["bool:true"]);
    assert_eq!(eval("Patient.active and true", &p), Vec::<String>::new());
    assert_eq!(eval("false implies Patient.active", &p), vec!["bool:true"]);
    assert_eq!(eval("true xor false", &p), vec!["bool:true"]);
    // Union removes duplicates of the same node.
    assert_eq!(eval("Patient.id | Patient.id | Resource.id", &p).len(), 1);
    assert_eq!(
        eval("(Patient.telecom | Patient.telecom).count", &p).len(),
        0
    );
    assert_eq!(
        eval("Patient.telecom[1].value", &p),
        vec![r#"string:"a@b""#]
    );
    assert_eq!(
        eval("Patient.telecom.first().value", &p),
        vec![r#"string:"555""#]
    );
    assert_eq!(
        eval("Patient.telecom.last().value", &p),
        vec![r#"string:"nosys""#]
    );
    assert_eq!(
        eval("Patient.telecom.where($this.system = 'email').value", &p),
        vec![r#"string:"a@b""#]
    );
    assert_eq!(
        eval("Patient.telecom.exists(system = 'email')", &p),
        vec!["bool:true"]
    );
    assert_eq!(eval("Patient.name.empty()", &p), vec!["bool:true"]);
    assert_eq!(eval("Patient.name.exists().not()", &p), vec!["bool:true"]);
    assert_eq!(eval("Patient.id.hasValue()", &p), vec!["bool:true"]);
    assert_eq!(eval("(Patient.telecom as ContactPoint).value", &p).len(), 3);
    assert_eq!(eval("Patient.telecom.as(FHIR.Identifier)", &p).len(), 0);
    assert_eq!(eval("%resource.id", &p), vec![r#"id:"p""#]);
    assert_eq!(eval("'a\\'b' | 1.5 | {}", &p), vec!["str:a'b", "num:1.5"]);
}

#[test]
fn parse_errors_are_errors_not_panics() {
    for bad in [
        "",
        "(",
        ")",
        "Patient.",
        "Patient..name",
        "a |",
        "| a",
        "where(",
        "a.where(b",
        "a.ofType()",
        "a.unknownFn()",
        "a + b",
        "a < b",
        "'unterminated",
        "`x",
        "@2020",
        "a / b",
        "$",
        "%",
        "a[",
        "a[1",
        "a.is(",
        "1 2",
        "a.as(FHIR.)",
        "'\\u12'",
        "a.exists(b c)",
        "((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((a",
    ] {
        assert!(parse(bad).is_err(), "{bad:?} should not parse");
    }
    let deep = format!("{}a{}", "(".repeat(10_000), ")".repeat(10_000));
    assert!(parse(&deep).is_err());
}
