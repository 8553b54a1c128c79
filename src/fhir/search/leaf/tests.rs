//! Values are parsed once, with the query, into typed tests.

use fhirgate_search::Registry;

use super::reference::RefValue;
use super::*;
use crate::fhir::search::criteria::{parse_criteria, Criterion};
use crate::fhir::search::dates::Prefix;

fn registry() -> Registry {
    let served: Vec<&str> = ResourceType::ALL.iter().map(|t| t.as_str()).collect();
    Registry::r4(&served).unwrap()
}

/// The test of the only criterion of `query` on `rtype`.
fn test_of(reg: &Registry, rtype: ResourceType, name: &str, value: &str) -> Result<Test, String> {
    let (criteria, unknown) =
        parse_criteria(reg, rtype, &[(name.to_owned(), value.to_owned())]).unwrap();
    assert!(unknown.is_empty(), "{name}: {unknown:?}");
    match criteria.as_slice() {
        [Criterion::Leaf(l)] => l.test.clone().map_err(|e| format!("{e:?}")),
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn values_are_typed_when_the_query_is_parsed() {
    let reg = registry();
    let obs = ResourceType::Observation;
    match test_of(&reg, obs, "code", "http://loinc.org|8867-4,|x\\,y").unwrap() {
        Test::Token(TokenTest::Codes { not: false, values }) => assert_eq!(
            values,
            vec![
                Token {
                    system: Some("http://loinc.org".into()),
                    code: "8867-4".into()
                },
                Token {
                    system: Some(String::new()),
                    code: "x,y".into()
                },
            ]
        ),
        t => panic!("{t:?}"),
    }
    assert!(matches!(
        test_of(&reg, obs, "code:not", "x").unwrap(),
        Test::Token(TokenTest::Codes { not: true, .. })
    ));
    match test_of(
        &reg,
        obs,
        "value-quantity",
        "le5.40|http://unitsofmeasure.org|mg",
    )
    .unwrap()
    {
        Test::Quantity(q) => {
            let [q] = q.as_slice() else { panic!("{q:?}") };
            assert_eq!(q.number.prefix, Prefix::Le);
            assert_eq!(q.number.text, "5.40");
            assert_eq!(q.system.as_deref(), Some("http://unitsofmeasure.org"));
            assert_eq!(q.code.as_deref(), Some("mg"));
        }
        t => panic!("{t:?}"),
    }
    match test_of(&reg, obs, "date", "ap2020,2021-02").unwrap() {
        Test::Date(d) => assert_eq!(
            d.iter()
                .map(|d| (d.prefix, d.text.as_str()))
                .collect::<Vec<_>>(),
            vec![(Prefix::Ap, "2020"), (Prefix::Eq, "2021-02")]
        ),
        t => panic!("{t:?}"),
    }
    match test_of(
        &reg,
        obs,
        "subject:Patient",
        "123,Group/g,http://x/fhir/Patient/1",
    )
    .unwrap()
    {
        Test::Reference(ReferenceTest::Refs { typ, values }) => {
            assert_eq!(typ.as_deref(), Some("Patient"));
            assert_eq!(
                values,
                vec![
                    RefValue::Relative {
                        typ: None,
                        id: "123".into()
                    },
                    RefValue::Relative {
                        typ: Some("Group".into()),
                        id: "g".into()
                    },
                    RefValue::Absolute("http://x/fhir/Patient/1".into()),
                ]
            );
        }
        t => panic!("{t:?}"),
    }
    // PHI strings: blind matches only.
    assert!(matches!(
        test_of(&reg, ResourceType::Patient, "name:exact", "Ann").unwrap(),
        Test::String(StringTest::Blind { exact: true, .. })
    ));
    assert!(matches!(
        test_of(&reg, ResourceType::Patient, "_id:missing", "true").unwrap(),
        Test::Special(Special::Missing(true))
    ));
    assert!(matches!(
        test_of(&reg, obs, "status:missing", "false").unwrap(),
        Test::Missing(false)
    ));
    assert!(matches!(
        test_of(&reg, ResourceType::AuditEvent, "action", "C").unwrap(),
        Test::Audit(_)
    ));
}

#[test]
fn refusals_are_kept_for_when_the_search_is_built() {
    let reg = registry();
    let obs = ResourceType::Observation;
    for (name, value, why) in [
        (
            "code:below",
            "x",
            "this terminology modifier is not supported",
        ),
        ("code:exact", "x", "this modifier is not supported"),
        ("code", "a|b|c", "a token is [system|]code"),
        ("date", "2020-13", "not a FHIR date/dateTime"),
        ("date:exact", "2020", "this modifier is not supported"),
        (
            "value-quantity",
            "5|mg",
            "expected [prefix]number[|system|code]",
        ),
        ("status:missing", "maybe", ":missing takes true or false"),
        ("subject:Foo", "1", "this modifier is not supported"),
    ] {
        let err = test_of(&reg, obs, name, value).unwrap_err();
        assert!(err.contains(why), "{name}={value}: {err}");
    }
}
