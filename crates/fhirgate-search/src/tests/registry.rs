//! Registry construction and the whole official expression set.
use serde_json::Value;

use crate::fhirpath::parse;
use crate::registry::SEARCH_PARAMETERS;
use crate::{ParamType, Registry};

const TYPES: [&str; 6] = [
    "Patient",
    "Practitioner",
    "Observation",
    "Appointment",
    "MedicationRequest",
    "AuditEvent",
];

/// Every expression in the embedded Bundle (all bases, full unions) and
/// every composite component expression parses.
#[test]
fn every_official_expression_parses() {
    let bundle: Value = serde_json::from_str(SEARCH_PARAMETERS).unwrap();
    let mut n = 0;
    for entry in bundle["entry"].as_array().unwrap() {
        let r = &entry["resource"];
        let mut exprs: Vec<&str> = r["expression"].as_str().into_iter().collect();
        for c in r["component"].as_array().into_iter().flatten() {
            exprs.push(c["expression"].as_str().unwrap());
        }
        for e in exprs {
            assert!(parse(e).is_ok(), "{}: {e}: {:?}", r["url"], parse(e).err());
            n += 1;
        }
    }
    assert!(n >= 120, "only {n} expressions");
}

#[test]
fn only_expressionless_params_are_reported() {
    let reg = Registry::r4(&TYPES).unwrap();
    for issue in reg.issues() {
        assert!(
            ["_text", "_content", "_query"].contains(&issue.code.as_str()),
            "{issue:?}"
        );
        assert!(issue.expression.is_empty());
    }
    assert_eq!(reg.issues().len(), 3 * TYPES.len());
    let total: usize = TYPES.iter().map(|t| reg.params(t).len()).sum();
    // 9 Resource/DomainResource-level params per type + 122 - 9 specific ones
    // (some shared between types), plus the gateway's own Observation
    // interpretation (schemas/search-parameters-fhirgate.json).
    assert_eq!(total, 184);
    let interp = reg.get("Observation", "interpretation").unwrap();
    assert_eq!(interp.expression, "Observation.interpretation");
}

#[test]
fn per_type_members_and_lookup() {
    let reg = Registry::r4(&TYPES).unwrap();
    let phone = reg.get("Practitioner", "phone").unwrap();
    assert_eq!(
        phone.expression,
        "Practitioner.telecom.where(system='phone')"
    );
    assert_eq!(phone.param_type, ParamType::Token);
    assert_eq!(
        phone.url,
        "http://hl7.org/fhir/SearchParameter/individual-phone"
    );
    assert_eq!(
        reg.get("Observation", "_id").unwrap().expression,
        "Observation.id"
    );
    assert_eq!(
        reg.get("MedicationRequest", "code").unwrap().expression,
        "(MedicationRequest.medication.ofType(CodeableConcept))"
    );
    let cvq = reg.get("Observation", "code-value-quantity").unwrap();
    assert_eq!(cvq.expression, "Observation");
    assert_eq!(cvq.components.len(), 2);
    assert_eq!(
        reg.get("Observation", "subject").unwrap().targets,
        vec!["Group", "Device", "Patient", "Location"]
    );
    for t in TYPES {
        let codes: Vec<&str> = reg.params(t).iter().map(|p| p.code.as_str()).collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        assert_eq!(codes, sorted);
        assert!(reg.params(t).iter().all(|p| p.resource_type == t));
    }
    let by_url = reg
        .by_url("http://hl7.org/fhir/SearchParameter/Observation-value-quantity")
        .unwrap();
    assert_eq!(by_url.code, "value-quantity");
    assert!(reg.by_url("http://example.org/nope").is_none());
    assert!(reg.get("Patient", "nope").is_none());
    assert!(reg.params("Organization").is_empty());
    assert!(reg.extract("Organization", &Value::Null).is_empty());
    assert!(Registry::r4(&["Nonsense"]).is_err());
    // Any other resource type gets the Resource-level parameters.
    let org = Registry::r4(&["Organization"]).unwrap();
    assert!(org.get("Organization", "_id").is_some());
}

/// The union parameters of the served types, written from the R4 definitions
/// (search-parameters.json: each `combo-*` expression is the union of the
/// plain and `component-*` expressions; nothing else qualifies).
#[test]
fn union_parameters_are_observations_combos() {
    let reg = Registry::r4(&[
        "Patient",
        "Practitioner",
        "Observation",
        "Appointment",
        "MedicationRequest",
    ])
    .unwrap();
    let mut found = Vec::new();
    for rt in [
        "Patient",
        "Practitioner",
        "Observation",
        "Appointment",
        "MedicationRequest",
    ] {
        for d in reg.params(rt) {
            if !d.union_of.is_empty() {
                found.push(format!("{rt}.{} = {}", d.code, d.union_of.join(" + ")));
            }
        }
    }
    assert_eq!(
        found,
        [
            "Observation.combo-code = code + component-code",
            "Observation.combo-code-value-concept = code-value-concept + component-code-value-concept",
            "Observation.combo-code-value-quantity = code-value-quantity + component-code-value-quantity",
            "Observation.combo-data-absent-reason = component-data-absent-reason + data-absent-reason",
            "Observation.combo-value-concept = component-value-concept + value-concept",
            "Observation.combo-value-quantity = component-value-quantity + value-quantity",
        ]
    );
    // Not indexed under their own name; their parts carry the values.
    let obs = serde_json::json!({
        "resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
        "component": [{"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                       "valueQuantity": {"value": 120, "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}}]
    });
    let params: Vec<String> = reg
        .extract("Observation", &obs)
        .into_iter()
        .map(|e| e.param)
        .collect();
    assert!(
        !params.iter().any(|p| p.starts_with("combo-")),
        "{params:?}"
    );
    for p in [
        "code",
        "component-code",
        "component-value-quantity",
        "component-code-value-quantity",
    ] {
        assert!(params.iter().any(|x| x == p), "{p} in {params:?}");
    }
}

/// Element types as the R4 JSON Schema declares them (datatypes.html): the
/// transaction engine finds uri/url/oid/uuid elements and narratives by them.
#[test]
fn element_types_come_from_the_schema() {
    let reg = Registry::r4(&["Patient"]).unwrap();
    for (owner, element, ty) in [
        ("Extension", "valueUri", Some("uri")),
        ("Extension", "valueUrl", Some("url")),
        ("Extension", "valueOid", Some("oid")),
        ("Extension", "valueUuid", Some("uuid")),
        ("Extension", "valueCanonical", Some("canonical")),
        ("Extension", "valueReference", Some("Reference")),
        ("Extension", "url", Some("uri")),
        ("Attachment", "url", Some("url")),
        ("Coding", "system", Some("uri")),
        ("Reference", "reference", Some("string")),
        ("Narrative", "div", Some("xhtml")),
        (
            "MedicationRequest",
            "instantiatesCanonical",
            Some("canonical"),
        ),
        ("MedicationRequest", "instantiatesUri", Some("uri")),
        ("MedicationRequest", "contained", Some("Resource")),
        ("MedicationRequest", "text", Some("Narrative")),
        ("Patient", "contact", Some("Patient_Contact")),
        ("Patient_Contact", "telecom", Some("ContactPoint")),
        ("Element", "extension", Some("Extension")),
        ("Patient", "nonsense", None),
        ("Nonsense", "id", None),
    ] {
        assert_eq!(reg.element_type(owner, element), ty, "{owner}.{element}");
    }
}
