//! TEMPORARY: dumps the SQL and binds (or the error) of many queries, to diff
//! before/after a refactor. Run with SQL_SNAPSHOT_OUT=/path.
#![allow(clippy::unwrap_used)]

use super::criteria::parse_criteria;
use super::options::parse_options;
use super::sql::Query;
use crate::crypto::{BlindIndexer, KeyBytes};
use crate::model::ResourceType;
use crate::tenant::TenantId;
use fhirgate_search::Registry;
use std::fmt::Write;

fn run(
    reg: &Registry,
    ix: &BlindIndexer,
    rtype: ResourceType,
    q: &[(String, String)],
    base: bool,
) -> String {
    let tenant = TenantId::parse("default").unwrap();
    let (criteria, unknown) = match parse_criteria(reg, rtype, q) {
        Ok(x) => x,
        Err(e) => return format!("PARSE ERR {e:?}"),
    };
    if let Err(e) = parse_options(reg, rtype, q) {
        return format!("OPTS ERR {e:?}");
    }
    let mut query = Query::new(ix, &tenant, rtype);
    if base {
        query = query.with_base("http://base/fhir".into());
    } else {
        query.by_keys_only();
    }
    for c in &criteria {
        if let Err(e) = query.add(c) {
            return format!("SQL ERR {e:?} unknown={unknown:?}");
        }
    }
    let (from, wh) = query.sql_parts();
    format!(
        "FROM {from} WHERE {wh} BINDS {:?} unknown={unknown:?}",
        query.clone().into_binds()
    )
}

#[test]
fn snapshot() {
    let Ok(out) = std::env::var("SQL_SNAPSHOT_OUT") else {
        return;
    };
    let served: Vec<&str> = ResourceType::ALL.iter().map(|t| t.as_str()).collect();
    let reg = Registry::r4(&served).unwrap();
    let ix = BlindIndexer::new(KeyBytes([9; 32]));
    let mods = [
        "",
        ":missing",
        ":exact",
        ":contains",
        ":text",
        ":not",
        ":above",
        ":below",
        ":in",
        ":not-in",
        ":of-type",
        ":identifier",
        ":Patient",
        ":Group",
        ":Practitioner",
        ":Foo",
        ":iterate",
        ":recurse",
        ":x;y",
        ":",
    ];
    let vals = [
        "true",
        "false",
        "x",
        "x,y",
        "a|b",
        "|b",
        "a|",
        "|",
        "a|b|c",
        "ge2020",
        "ap2020-01",
        "2020-13",
        "2020-02-03T04:05:06Z",
        "ne2021",
        "sa1999",
        "eb2000-01-01",
        "5.4",
        "5.4|http://unitsofmeasure.org|mg",
        "5.4||mg",
        "lt5",
        "ap100",
        "1e2",
        "abc",
        "Patient/1",
        "Practitioner/p1",
        "http://x/Patient/1",
        "http://base/fhir/Patient/1",
        "http://base/fhir/1",
        "1",
        "x$y",
        "a|b$ge5",
        "http://loinc.org|8480-6$gt100||mm[Hg]",
        "a$b$c",
        "a$2020",
        "a$foo",
        "\\,",
        "Mar\\|y",
        "%_",
        "Ünïcode Name",
        "Müller,",
        ",x",
        "Patient/",
        "urn:uuid:1",
        "http://acme.org/fhir/ValueSet/x",
        "a\\$b$c",
        "5\\.4",
        "x|y|z",
        "http://hl7.org/fhir/audit-event-action|C",
        "C",
        "http://other|C",
        "    ",
    ];
    let mut s = String::new();
    for rt in ResourceType::ALL {
        let mut codes: Vec<String> = reg
            .params(rt.as_str())
            .iter()
            .map(|d| d.code.clone())
            .collect();
        codes.sort();
        codes.dedup();
        for code in &codes {
            for m in mods {
                for v in vals {
                    let q = vec![(format!("{code}{m}"), v.to_owned())];
                    writeln!(s, "{rt}?{code}{m}={v} :: {}", run(&reg, &ix, rt, &q, true)).unwrap();
                }
            }
        }
    }
    // Chains, _has, keys, mixed and multi-error queries.
    let extra: &[(&str, &[(&str, &str)])] = &[
        ("Observation", &[("subject:Patient.name", "x")]),
        ("Observation", &[("subject.name", "x")]),
        ("Observation", &[("subject.birthdate", "ge2000")]),
        ("Observation", &[("subject:Foo.name", "x")]),
        ("Observation", &[("code.name", "x")]),
        ("Observation", &[("subject:Patient.link:Patient.name", "x")]),
        ("Patient", &[("_has:Observation:patient:code", "8867-4")]),
        ("Patient", &[("_has:Observation:subject:code", "8867-4")]),
        ("Patient", &[("_has:AuditEvent:patient:action", "C")]),
        (
            "Patient",
            &[(
                "_has:Observation:patient:_has:Observation:patient:code",
                "x",
            )],
        ),
        ("Patient", &[("_has:Observation", "x")]),
        ("Patient", &[("_has:Nope:patient:code", "x")]),
        ("Patient", &[("_has:Observation:code:code", "x")]),
        ("AuditEvent", &[("patient.name", "x")]),
        ("AuditEvent", &[("_has:Provenance:target:_id", "x")]),
        (
            "Observation",
            &[("patient", "p1"), ("code", "8867-4"), ("date", "ge2020")],
        ),
        (
            "Observation",
            &[
                ("code", "http://loinc.org|8867-4,http://loinc.org|1234-5"),
                ("status", "final"),
            ],
        ),
        ("Observation", &[("date", "garbage"), ("_count", "abc")]),
        ("Observation", &[("date", "garbage"), ("foo", "1")]),
        ("Observation", &[("code:below", "x"), ("date", "garbage")]),
        ("Observation", &[("date", "garbage"), ("code:below", "x")]),
        ("Observation", &[("_id", "a,b"), ("_lastUpdated", "gt2020")]),
        ("Observation", &[("_lastUpdated", "gt2020"), ("code", "x")]),
        (
            "Observation",
            &[("subject:Patient.birthdate", "garbage"), ("_sort", "nope")],
        ),
        ("Patient", &[("name", "")]),
        (
            "Patient",
            &[("identifier", "a|b"), ("identifier", "http://x|")],
        ),
        ("Observation", &[("combo-code", "8867-4")]),
        ("Observation", &[("combo-code:text", "heart rate")]),
        ("Observation", &[("combo-value-quantity", "5.4||mg")]),
        (
            "Observation",
            &[("combo-code-value-quantity", "8867-4$5.4")],
        ),
        (
            "AuditEvent",
            &[("patient", "p1"), ("date", "ge2020"), ("action", "C")],
        ),
    ];
    for (rt, q) in extra {
        let rtype = ResourceType::parse(rt).unwrap();
        let q: Vec<(String, String)> = q
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        writeln!(s, "{rt}?{q:?} :: {}", run(&reg, &ix, rtype, &q, true)).unwrap();
        writeln!(
            s,
            "{rt}?{q:?} nobase :: {}",
            run(&reg, &ix, rtype, &q, false)
        )
        .unwrap();
    }
    std::fs::write(out, s).unwrap();
}
