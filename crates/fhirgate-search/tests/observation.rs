//! Observation extraction against official examples (hand-derived).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use common::*;
use fhirgate_search::{IndexValue, DATE_MAX};

const LOINC: &str = "http://loinc.org";
const UCUM: &str = "http://unitsofmeasure.org";

#[test]
fn observation_f001() {
    let e = extract("Observation-f001.json");
    let code = token(
        Some(LOINC),
        Some("15074-8"),
        Some("Glucose [Moles/volume] in Blood"),
    );
    let qty = quantity("6.3", Some(UCUM), Some("mmol/L"), Some("mmol/l"));
    assert_eq!(values(&e, "code"), vec![code.clone()]);
    assert_eq!(searched(&e, "combo-code"), vec![code.clone()]);
    assert_eq!(values(&e, "value-quantity"), vec![qty.clone()]);
    assert_eq!(searched(&e, "combo-value-quantity"), vec![qty.clone()]);
    assert_eq!(values(&e, "component-value-quantity"), vec![]);
    let pat = reference("Patient/f001", Some("Patient"), Some("f001"));
    assert_eq!(values(&e, "subject"), vec![pat.clone()]);
    assert_eq!(values(&e, "patient"), vec![pat]);
    assert_eq!(
        values(&e, "performer"),
        vec![reference(
            "Practitioner/f005",
            Some("Practitioner"),
            Some("f005")
        )]
    );
    // effectivePeriod with only a start: open-ended (datatypes.html#Period).
    assert_eq!(
        values(&e, "date"),
        vec![IndexValue::Date {
            low: utc("2013-04-02T08:30:10Z"),
            high: DATE_MAX
        }]
    );
    let composite = IndexValue::Composite(vec![code, qty]);
    assert_eq!(values(&e, "code-value-quantity"), vec![composite.clone()]);
    assert_eq!(searched(&e, "combo-code-value-quantity"), vec![composite]);
    assert_eq!(values(&e, "component-code-value-quantity"), vec![]);
    assert_eq!(values(&e, "code-value-concept"), vec![]);
    assert_eq!(
        values(&e, "identifier"),
        vec![token(
            Some("http://www.bmc.nl/zorgportal/identifiers/observations"),
            Some("6323"),
            None
        )]
    );
    assert_eq!(values(&e, "status"), vec![token(None, Some("final"), None)]);
}

#[test]
fn observation_blood_pressure_components() {
    let e = extract("Observation-blood-pressure-dar.json");
    let cat = "http://terminology.hl7.org/CodeSystem/observation-category";
    assert_eq!(
        values(&e, "category"),
        vec![token(Some(cat), Some("vital-signs"), Some("Vital Signs"))]
    );
    // `:text` searches CodeableConcept.text and Coding.display
    // (search.html#modifiers): both go with each coding.
    let panel = token(
        Some(LOINC),
        Some("85354-9"),
        Some("Blood pressure systolic & diastolic Blood pressure panel with all children optional"),
    );
    assert_eq!(values(&e, "code"), vec![panel.clone()]);
    let sys1 = token(Some(LOINC), Some("8480-6"), Some("Systolic blood pressure"));
    let sys2 = token(
        Some("http://snomed.info/sct"),
        Some("271649006"),
        Some("Systolic blood pressure"),
    );
    let sys3 = token(
        Some("http://acme.org/devices/clinical-codes"),
        Some("bp-s"),
        Some("Systolic Blood pressure"),
    );
    let dia = token(
        Some(LOINC),
        Some("8462-4"),
        Some("Diastolic blood pressure"),
    );
    assert_eq!(
        values(&e, "component-code"),
        vec![sys1.clone(), sys2.clone(), sys3.clone(), dia.clone()]
    );
    assert_eq!(
        searched(&e, "combo-code"),
        vec![panel, sys1.clone(), sys2.clone(), sys3.clone(), dia]
    );
    let q = quantity("107", Some(UCUM), Some("mm[Hg]"), Some("mmHg"));
    assert_eq!(values(&e, "component-value-quantity"), vec![q.clone()]);
    assert_eq!(values(&e, "value-quantity"), vec![]);
    // One composite per (code, value) within the same component; the
    // diastolic component has no value, so it contributes none.
    let expected: Vec<IndexValue> = [sys1, sys2, sys3]
        .into_iter()
        .map(|c| IndexValue::Composite(vec![c, q.clone()]))
        .collect();
    assert_eq!(values(&e, "component-code-value-quantity"), expected);
    assert_eq!(searched(&e, "combo-code-value-quantity"), expected);
    assert_eq!(values(&e, "code-value-quantity"), vec![]);
    let dar = token(
        Some("http://terminology.hl7.org/CodeSystem/data-absent-reason"),
        Some("not-performed"),
        Some("Not Performed"),
    );
    assert_eq!(
        values(&e, "component-data-absent-reason"),
        vec![dar.clone()]
    );
    assert_eq!(searched(&e, "combo-data-absent-reason"), vec![dar]);
    assert_eq!(values(&e, "data-absent-reason"), vec![]);
    assert_eq!(
        values(&e, "date"),
        vec![date("2012-09-17T00:00:00Z", "2012-09-17T23:59:59.999Z")]
    );
    assert_eq!(
        values(&e, "_profile"),
        vec![IndexValue::Uri(
            "http://hl7.org/fhir/StructureDefinition/vitalsigns".to_string()
        )]
    );
    assert_eq!(
        values(&e, "patient"),
        vec![reference(
            "Patient/example",
            Some("Patient"),
            Some("example")
        )]
    );
}

#[test]
fn observation_value_concept_and_string() {
    let e = extract("Observation-bloodgroup.json");
    let code = token(
        Some(LOINC),
        Some("883-9"),
        Some("Blood Group ABO group [Type] in Blood"),
    );
    let value = token(
        Some("http://snomed.info/sct"),
        Some("112144000"),
        Some("A Blood group A (finding)"),
    );
    assert_eq!(values(&e, "value-concept"), vec![value.clone()]);
    assert_eq!(searched(&e, "combo-value-concept"), vec![value.clone()]);
    // (Observation.value.ofType(CodeableConcept)).text
    assert_eq!(values(&e, "value-string"), vec![string("A")]);
    assert_eq!(
        values(&e, "code-value-concept"),
        vec![IndexValue::Composite(vec![code.clone(), value.clone()])]
    );
    assert_eq!(
        searched(&e, "combo-code-value-concept"),
        vec![IndexValue::Composite(vec![code, value])]
    );
    assert_eq!(values(&e, "code-value-string"), vec![]);
    assert_eq!(
        values(&e, "date"),
        vec![date("2018-03-11T16:07:54Z", "2018-03-11T16:07:54.999Z")]
    );
}

#[test]
fn observation_value_date_via_system_datetime_type() {
    let e = extract("Observation-date-lastmp.json");
    let day = date("2016-12-30T00:00:00Z", "2016-12-30T23:59:59.999Z");
    assert_eq!(values(&e, "value-date"), vec![day.clone()]);
    // The component expression is `value.ofType(DateTime)` (System type).
    let code = token(
        Some(LOINC),
        Some("8665-2"),
        Some("Date last menstrual period"),
    );
    assert_eq!(
        values(&e, "code-value-date"),
        vec![IndexValue::Composite(vec![code, day])]
    );
    let cat = "http://terminology.hl7.org/CodeSystem/observation-category";
    assert_eq!(
        values(&e, "category"),
        vec![token(Some(cat), Some("survey"), Some("AOE Survey"))]
    );
}

#[test]
fn observation_sampled_data_is_not_a_quantity() {
    let e = extract("Observation-ekg.json");
    assert_eq!(values(&e, "component-value-quantity"), vec![]);
    assert_eq!(searched(&e, "combo-value-quantity"), vec![]);
    assert_eq!(values(&e, "component-code-value-quantity"), vec![]);
    assert_eq!(values(&e, "component-code").len(), 3);
    // A display-only Reference is not searchable.
    assert_eq!(values(&e, "device"), vec![]);
    assert_eq!(
        values(&e, "date"),
        vec![date("2015-02-19T08:30:35Z", "2015-02-19T08:30:35.999Z")]
    );
}

#[test]
fn observation_value_string_timing_and_exact_decimals() {
    // Parsed from text (not `json!`) so the number keeps its source digits.
    let o: serde_json::Value = serde_json::from_str(
        r#"{
        "resourceType": "Observation",
        "code": {"text": "free text only"},
        "valueString": "positive",
        "effectiveTiming": {
            "event": ["2020-03-01T10:00:00Z", "2020-01-15"],
            "repeat": {"boundsPeriod": {"start": "2019-12", "end": "2020-02-01"}}
        },
        "component": [{
            "code": {"coding": [{"system": "s", "code": "c"}]},
            "valueQuantity": {"value": 1.50, "system": "http://unitsofmeasure.org", "code": "mg"}
        }]
    }"#,
    )
    .unwrap();
    let e = registry().extract("Observation", &o);
    assert_eq!(values(&e, "value-string"), vec![string("positive")]);
    assert_eq!(
        values(&e, "code-value-string"),
        vec![IndexValue::Composite(vec![
            token(None, None, Some("free text only")),
            string("positive")
        ])]
    );
    // Outer limits of event[] and repeat.boundsPeriod.
    assert_eq!(
        values(&e, "date"),
        vec![date("2019-12-01T00:00:00Z", "2020-03-01T10:00:00.999Z")]
    );
    // The decimal keeps its written precision (1.50, not 1.5).
    assert_eq!(
        values(&e, "component-value-quantity"),
        vec![quantity("1.50", Some(UCUM), Some("mg"), None)]
    );
}
