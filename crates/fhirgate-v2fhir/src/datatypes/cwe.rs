//! CWE/CE/CNE -> CodeableConcept, after
//! http://hl7.org/fhir/uv/v2mappings/ConceptMap/datatype-cwe-to-codeableconcept:
//! CWE-1..3 and CWE-4..6 are two codings (CWE-3/6 through table 0396 to a FHIR
//! system URI, CWE-7/8 their versions), CWE-9 is `text`.
//!
//! A coding system this crate does not know (a local `L`, `99zzz`) gives a
//! coding without `system` rather than an invented URI; the code and display
//! are kept.

use fhirgate_hl7::Repetition;
use serde_json::{Map, Value};

use super::{comp, put_str};

/// HL7 table 0396 (coding systems) to FHIR system URIs
/// (http://hl7.org/fhir/R4/terminologies-systems.html, THO v2 tables).
pub fn system_uri(cs: &str) -> Option<String> {
    let cs = cs.trim();
    if cs.starts_with("http://") || cs.starts_with("https://") || cs.starts_with("urn:") {
        return Some(cs.to_owned());
    }
    let upper = cs.to_ascii_uppercase();
    let fixed = match upper.as_str() {
        "LN" | "LOINC" => "http://loinc.org",
        "SCT" | "SNM" | "SNOMED" | "SNOMEDCT" => "http://snomed.info/sct",
        "I9" | "I9C" | "I9CDX" | "ICD9" => "http://hl7.org/fhir/sid/icd-9-cm",
        "I10" | "ICD10" => "http://hl7.org/fhir/sid/icd-10",
        "I10C" | "ICD10CM" => "http://hl7.org/fhir/sid/icd-10-cm",
        "NDC" => "http://hl7.org/fhir/sid/ndc",
        "RXNORM" | "RXN" => "http://www.nlm.nih.gov/research/umls/rxnorm",
        "CVX" => "http://hl7.org/fhir/sid/cvx",
        "UCUM" => "http://unitsofmeasure.org",
        "C4" | "CPT4" | "CPT" => "http://www.ama-assn.org/go/cpt",
        "ISO3166_1" | "ISO3166-1" => "urn:iso:std:iso:3166",
        _ => "",
    };
    if !fixed.is_empty() {
        return Some(fixed.to_owned());
    }
    // HL7nnnn: an HL7-defined v2 table (THO publishes each as v2-nnnn).
    let table = upper.strip_prefix("HL7").unwrap_or("");
    if table.len() == 4 && table.bytes().all(|b| b.is_ascii_digit()) {
        return Some(format!("http://terminology.hl7.org/CodeSystem/v2-{table}"));
    }
    None
}

fn coding(code: &str, display: &str, cs: &str, version: &str) -> Option<Value> {
    if code.is_empty() {
        return None;
    }
    let mut c = Map::new();
    if let Some(s) = system_uri(cs) {
        c.insert("system".into(), Value::String(s));
        put_str(&mut c, "version", version);
    }
    put_str(&mut c, "code", code);
    put_str(&mut c, "display", display);
    Some(Value::Object(c))
}

/// A CodeableConcept from a CWE read through `get` (component n -> value), so
/// that a CWE nested as subcomponents can use it too.
pub fn from_parts<'a>(get: impl Fn(usize) -> &'a str) -> Option<Value> {
    let g = |n| get(n).trim();
    let mut codings = Vec::new();
    codings.extend(coding(g(1), g(2), g(3), g(7)));
    codings.extend(coding(g(4), g(5), g(6), g(8)));
    let mut cc = Map::new();
    if !codings.is_empty() {
        cc.insert("coding".into(), Value::Array(codings));
    }
    let text = match (g(9), g(1), g(2)) {
        (t, _, _) if !t.is_empty() => t,
        // A display with no code is only text (CE used as free text).
        ("", "", d) => d,
        _ => "",
    };
    put_str(&mut cc, "text", text);
    (!cc.is_empty()).then_some(Value::Object(cc))
}

/// CWE in a field repetition.
pub fn codeable_concept(rep: &Repetition) -> Option<Value> {
    from_parts(|n| comp(rep, n))
}

/// A CodeableConcept with one coding of a known system (a mapped table value),
/// keeping the v2 text.
pub fn fixed(system: &str, code: &str, display: &str) -> Value {
    let mut c = Map::new();
    c.insert("system".into(), Value::String(system.to_owned()));
    c.insert("code".into(), Value::String(code.to_owned()));
    put_str(&mut c, "display", display);
    serde_json::json!({ "coding": [Value::Object(c)] })
}

/// Only text.
pub fn text(t: &str) -> Option<Value> {
    let t = t.trim();
    (!t.is_empty()).then(|| serde_json::json!({ "text": t }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn systems() {
        assert_eq!(system_uri("LN").as_deref(), Some("http://loinc.org"));
        assert_eq!(
            system_uri("HL70005").as_deref(),
            Some("http://terminology.hl7.org/CodeSystem/v2-0005")
        );
        assert_eq!(system_uri("HL7nnnn"), None);
        assert_eq!(system_uri("L"), None);
    }

    #[test]
    fn two_codings_and_text() {
        let parts = [
            "ara",
            "",
            "HL70296",
            "eng",
            "English-us",
            "HL70296",
            "v2",
            "v2.1",
            "TextInEnglish",
        ];
        let cc = from_parts(|n| parts.get(n - 1).copied().unwrap_or(""));
        assert_eq!(
            cc,
            Some(json!({"coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/v2-0296", "version": "v2", "code": "ara"},
                {"system": "http://terminology.hl7.org/CodeSystem/v2-0296", "version": "v2.1", "code": "eng", "display": "English-us"}
            ], "text": "TextInEnglish"}))
        );
    }

    #[test]
    fn display_only_is_text() {
        let parts = ["", "Married"];
        let cc = from_parts(|n| parts.get(n - 1).copied().unwrap_or(""));
        assert_eq!(cc, Some(json!({"text": "Married"})));
        assert_eq!(from_parts(|_| ""), None);
    }
}
