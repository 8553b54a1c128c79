//! The served types against R4: every type has its descriptor, and what the
//! descriptors name (PHI parameters, compartment references, coded
//! alternatives) exists in the official R4 JSON Schema, search parameters and
//! Patient CompartmentDefinition (`schemas/`, copies of `../shared/fhir-r4/`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeSet;

use fhirgate_search::{ParamType, Registry};
use serde_json::{json, Value};

use super::*;

const COMPARTMENT: &str = include_str!("../../schemas/compartmentdefinition-patient.json");

fn registry() -> Registry {
    Registry::r4(&ResourceType::ALL.map(ResourceType::as_str)).unwrap()
}

#[test]
fn types_and_ids() {
    assert_eq!(ResourceType::parse("Patient"), Some(ResourceType::Patient));
    assert_eq!(ResourceType::parse("patient"), None);
    assert!(!ResourceType::AuditEvent.client_writable());
    assert!(ResourceId::parse("a-B.9").is_some());
    assert!(ResourceId::parse("").is_none());
    assert!(ResourceId::parse("a/b").is_none());
    assert!(ResourceId::parse(&"x".repeat(65)).is_none());
    assert!(ResourceId::parse(&"x".repeat(64)).is_some());
}

/// Each variant has the descriptor of its own name (a copied file left
/// unchanged would not), the R4 schema defines it, and the storage flags agree
/// with each other.
#[test]
fn every_served_type_has_its_descriptor() {
    let registry = registry();
    assert_eq!(ResourceType::ALL.len(), VARIANT_NAMES.len());
    let mut names = BTreeSet::new();
    for (t, variant) in ResourceType::ALL.into_iter().zip(VARIANT_NAMES) {
        let d = t.descriptor();
        assert_eq!(d.name, *variant);
        assert!(names.insert(d.name), "{} twice", d.name);
        assert_eq!(ResourceType::parse(d.name), Some(t));
        assert_eq!(t.to_string(), d.name);
        assert!(
            registry.element_type(d.name, "id").is_some(),
            "the R4 schema has no {}",
            d.name
        );
        assert!(!registry.params(d.name).is_empty(), "{}", d.name);
        // Only the server writes the audit log, and it keeps one version.
        if d.storage == Storage::AuditLog {
            assert!(!d.client_writable && !d.has_history, "{}", d.name);
        }
        for &(reference, concept) in d.coded_references {
            assert_eq!(registry.element_type(d.name, reference), Some("Reference"));
            assert_eq!(
                registry.element_type(d.name, concept),
                Some("CodeableConcept")
            );
        }
    }
    // ALL is in Ord's order, which BTreeMaps of types rely on.
    assert!(ResourceType::ALL.windows(2).all(|w| w[0] < w[1]));
}

/// The element paths of a search parameter expression, for the shapes R4's
/// expressions have: unions (`|`), parentheses, `.ofType(T)` (the choice
/// member `xT`) and `.where(...)` (a filter, no element).
fn paths(expr: &str) -> Vec<Vec<String>> {
    fn cut_call(s: &mut String, call: &str, keep: impl Fn(&str) -> String) {
        while let Some(i) = s.find(call) {
            let open = i + call.len();
            let mut depth = 1;
            let close = s[open..]
                .char_indices()
                .find(|&(_, c)| {
                    depth += match c {
                        '(' => 1,
                        ')' => -1,
                        _ => 0,
                    };
                    depth == 0
                })
                .map(|(j, _)| open + j)
                .expect("unbalanced parentheses");
            let kept = keep(&s[open..close]);
            s.replace_range(i..=close, &kept);
        }
    }
    expr.split('|')
        .map(|member| {
            let mut s = member.trim().to_owned();
            cut_call(&mut s, ".ofType(", |t| {
                let mut c = t.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            });
            cut_call(&mut s, ".where(", |_| String::new());
            s.retain(|c| c != '(' && c != ')');
            s.split('.').map(str::to_owned).collect()
        })
        .collect()
}

/// The R4 type at the end of `path` from `owner`, every step an R4 element.
fn walk(registry: &Registry, owner: &str, path: &[String]) -> Result<String, String> {
    let mut ty = owner.to_owned();
    for el in path {
        let next = registry
            .element_type(&ty, el)
            .ok_or_else(|| format!("{ty} has no element {el}"))?;
        if !fhirgate_validate::is_r4_element(&ty, el) {
            return Err(format!("{ty}.{el} is not R4"));
        }
        ty = next.to_owned();
    }
    Ok(ty)
}

/// Every PHI parameter of a descriptor is an R4 search parameter of its type,
/// and every element its expression reads is in the R4 JSON Schema.
#[test]
fn phi_params_name_r4_elements() {
    let registry = registry();
    assert_eq!(
        paths("(Patient.deceased.ofType(dateTime))"),
        [["Patient", "deceasedDateTime"]]
    );
    assert_eq!(
        paths("Patient.telecom.where(system='phone') | X.y"),
        [vec!["Patient", "telecom"], vec!["X", "y"]]
    );
    for t in ResourceType::ALL {
        let d = t.descriptor();
        let identifier = registry.get(d.name, "identifier").map(|_| "identifier");
        for p in d.phi_params.iter().copied().chain(identifier) {
            assert!(d.is_phi(p), "{}.{p}", d.name);
            let def = registry
                .get(d.name, p)
                .unwrap_or_else(|| panic!("{} has no search parameter {p}", d.name));
            assert!(!def.expression.is_empty(), "{}.{p}", d.name);
            for path in paths(&def.expression) {
                assert_eq!(
                    path.first().map(String::as_str),
                    Some(d.name),
                    "{}.{p}",
                    d.name
                );
                walk(&registry, d.name, &path[1..])
                    .unwrap_or_else(|e| panic!("{}.{p}: {e}", d.name));
            }
            for (_, component) in &def.components {
                for path in paths(component) {
                    walk(&registry, d.name, &path)
                        .unwrap_or_else(|e| panic!("{}.{p}: {e}", d.name));
                }
            }
        }
    }
}

/// The compartment references of each descriptor are the R4 Patient
/// CompartmentDefinition's parameters for its type, less those it says it does
/// not follow; each is a reference parameter to Patient whose expression is
/// the descriptor's path, which ends at a Reference.
#[test]
fn compartment_refs_match_the_r4_compartment() {
    let registry = registry();
    let def: Value = serde_json::from_str(COMPARTMENT).unwrap();
    let owners: Vec<&str> = ResourceType::ALL
        .iter()
        .map(|t| t.descriptor())
        .filter(|d| d.compartment.owner)
        .map(|d| d.name)
        .collect();
    assert_eq!(owners, [def["code"].as_str().unwrap()]);
    for t in ResourceType::ALL {
        let d = t.descriptor();
        let r4: BTreeSet<&str> = def["resource"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["code"] == d.name)
            .unwrap_or_else(|| panic!("the CompartmentDefinition does not list {}", d.name))
            .get("param")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let followed: BTreeSet<&str> = d.compartment.refs.iter().map(|r| r.param).collect();
        let not_followed: BTreeSet<&str> = d.compartment.not_followed.iter().copied().collect();
        assert!(followed.is_disjoint(&not_followed), "{}", d.name);
        assert_eq!(
            followed
                .union(&not_followed)
                .copied()
                .collect::<BTreeSet<_>>(),
            r4,
            "{}",
            d.name
        );
        for r in d.compartment.refs {
            let p = registry.get(d.name, r.param).unwrap();
            assert_eq!(p.param_type, ParamType::Reference, "{}.{}", d.name, r.param);
            assert!(
                p.targets.is_empty() || p.targets.iter().any(|x| x == "Patient"),
                "{}.{}",
                d.name,
                r.param
            );
            assert_eq!(p.expression, format!("{}.{}", d.name, r.path));
            let steps: Vec<String> = r.path.split('.').map(str::to_owned).collect();
            assert_eq!(walk(&registry, d.name, &steps).as_deref(), Ok("Reference"));
        }
    }
}

#[test]
fn patients_a_resource_is_about() {
    let refs = |t: ResourceType, id, v: Value| t.descriptor().patient_refs(id, &v);
    assert_eq!(
        refs(
            ResourceType::Patient,
            Some("p"),
            json!({"link": [{"other": {"reference": "Patient/q"}}]})
        ),
        ["Patient/p"]
    );
    assert!(refs(ResourceType::Patient, None, json!({})).is_empty());
    assert_eq!(
        refs(
            ResourceType::Observation,
            Some("o"),
            json!({"subject": {"reference": "http://h/fhir/Patient/a"}, "performer": [{"reference": "Patient/b"}]})
        ),
        ["http://h/fhir/Patient/a"]
    );
    assert_eq!(
        refs(
            ResourceType::Appointment,
            None,
            json!({"participant": [
                {"actor": {"reference": "Patient/a"}}, {"actor": {"reference": "Patient/a"}},
                {"actor": {"reference": "Practitioner/x"}}, {"actor": {"reference": "Patient/b"}}
            ]})
        ),
        ["Patient/a", "Patient/b"]
    );
    assert!(refs(
        ResourceType::AuditEvent,
        Some("e"),
        json!({"entity": [{"what": {"reference": "Patient/a"}}]})
    )
    .is_empty());
    assert_eq!(
        ResourceType::Patient
            .descriptor()
            .own_patient("p")
            .as_deref(),
        Some("Patient/p")
    );
    assert_eq!(
        ResourceType::Observation.descriptor().own_patient("o"),
        None
    );
}

#[test]
fn type_rules() {
    let appointment = ResourceType::Appointment.descriptor();
    assert!(appointment.writes_bookings());
    assert!(ResourceType::ALL
        .iter()
        .filter(|t| t.descriptor().writes_bookings())
        .eq([&ResourceType::Appointment]));
    assert!(!ResourceType::AuditEvent.descriptor().indexed());
    assert_eq!(
        ResourceType::Patient.descriptor().operations,
        ["everything"]
    );
    let r =
        json!({"status": "booked", "start": "2026-01-01T11:00:00Z", "end": "2026-01-01T10:00:00Z"});
    let o = r.as_object().unwrap();
    assert_eq!((appointment.rules)(o).len(), 1);
    assert!((ResourceType::Patient.descriptor().rules)(o).is_empty());
}
