//! Business rules: the R4 invariants of the served types that the JSON Schema
//! cannot express. A violation is 422 Unprocessable Entity with issue code
//! `invariant` (http://hl7.org/fhir/R4/http.html#2.21.0.17: "the proposed
//! resource violated applicable FHIR profiles or server business rules").

use chrono::DateTime;
use serde_json::{Map, Value};

use crate::model::ResourceType;

/// One violated invariant: its key (e.g. "app-3"), where, and what it says.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub key: &'static str,
    pub expression: String,
    pub text: &'static str,
}

fn v(key: &'static str, expression: String, text: &'static str) -> Violation {
    Violation {
        key,
        expression,
        text,
    }
}

fn has(o: &Map<String, Value>, k: &str) -> bool {
    o.contains_key(k) || o.contains_key(&format!("_{k}"))
}

/// The value[x] element names present.
fn has_choice(o: &Map<String, Value>, prefix: &str) -> bool {
    o.keys().any(|k| {
        k.strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
    })
}

/// start <= end for two FHIR date/dateTime/instant strings, where they can be
/// compared: full instants by time, partial dates by their common prefix.
fn ordered(start: &str, end: &str) -> bool {
    match (
        DateTime::parse_from_rfc3339(start),
        DateTime::parse_from_rfc3339(end),
    ) {
        (Ok(s), Ok(e)) => s <= e,
        _ if !start.contains('T') && !end.contains('T') => {
            let n = start.len().min(end.len());
            start.get(..n) <= end.get(..n)
        }
        _ => true,
    }
}

pub fn check(rtype: ResourceType, r: &Map<String, Value>) -> Vec<Violation> {
    let mut out = Vec::new();
    let t = rtype.as_str();
    walk(&Value::Object(r.clone()), t, &mut out);
    if let Some(contained) = r.get("contained").and_then(Value::as_array) {
        for (i, c) in contained.iter().enumerate() {
            let path = format!("{t}.contained[{i}]");
            if c.get("contained").is_some() {
                out.push(v(
                    "dom-2",
                    path.clone(),
                    "a contained resource SHALL NOT contain nested resources",
                ));
            }
            if c.pointer("/meta/versionId").is_some() || c.pointer("/meta/lastUpdated").is_some() {
                out.push(v(
                    "dom-4",
                    path.clone(),
                    "a contained resource SHALL NOT have meta.versionId or meta.lastUpdated",
                ));
            }
            if c.pointer("/meta/security").is_some() {
                out.push(v(
                    "dom-5",
                    path,
                    "a contained resource SHALL NOT have a security label",
                ));
            }
        }
    }
    match rtype {
        ResourceType::Appointment => {
            let status = r.get("status").and_then(Value::as_str).unwrap_or("");
            if has(r, "start") != has(r, "end") {
                out.push(v(
                    "app-2",
                    format!("{t}.end"),
                    "either start and end are specified, or neither",
                ));
            }
            let dated = has(r, "start") && has(r, "end");
            if !dated && !matches!(status, "proposed" | "cancelled" | "waitlist") {
                out.push(v(
                    "app-3",
                    format!("{t}.start"),
                    "only proposed or cancelled appointments can be missing start/end dates",
                ));
            }
            if r.contains_key("cancelationReason") && !matches!(status, "no-show" | "cancelled") {
                out.push(v("app-4", format!("{t}.cancelationReason"), "cancelation reason is only used for appointments that have been cancelled, or no-show"));
            }
            if let (Some(s), Some(e)) = (
                r.get("start").and_then(Value::as_str),
                r.get("end").and_then(Value::as_str),
            ) {
                if !ordered(s, e) || s == e && DateTime::parse_from_rfc3339(s).is_ok() {
                    out.push(v(
                        "fhirgate-app-1",
                        format!("{t}.end"),
                        "end must be after start",
                    ));
                }
            }
        }
        ResourceType::Observation => {
            if r.contains_key("dataAbsentReason") && has_choice(r, "value") {
                out.push(v(
                    "obs-6",
                    format!("{t}.dataAbsentReason"),
                    "dataAbsentReason SHALL only be present if Observation.value[x] is not present",
                ));
            }
            let codings = |x: Option<&Value>| -> Vec<(Option<String>, Option<String>)> {
                x.and_then(|c| c.get("coding"))
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|c| {
                        (
                            c.get("system").and_then(Value::as_str).map(str::to_owned),
                            c.get("code").and_then(Value::as_str).map(str::to_owned),
                        )
                    })
                    .filter(|(_, code)| code.is_some())
                    .collect()
            };
            if has_choice(r, "value") {
                let own = codings(r.get("code"));
                let clash = r
                    .get("component")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .any(|c| codings(c.get("code")).iter().any(|cc| own.contains(cc)));
                if clash {
                    out.push(v("obs-7", format!("{t}.value"), "if Observation.code is the same as a component code then Observation.value SHALL NOT be present"));
                }
            }
        }
        ResourceType::Patient => {
            for (i, c) in r
                .get("contact")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let ok = ["name", "telecom", "address", "organization"]
                    .iter()
                    .any(|k| c.get(k).is_some());
                if !ok {
                    out.push(v("pat-1", format!("{t}.contact[{i}]"), "a contact SHALL at least contain a contact's details or a reference to an organization"));
                }
            }
        }
        _ => {}
    }
    out
}

/// Invariants on data types, anywhere in the resource: ext-1 (an extension has a
/// value or nested extensions, not both) and per-1 (a Period's start is not after its end).
fn walk(node: &Value, path: &str, out: &mut Vec<Violation>) {
    match node {
        Value::Object(o) => {
            for (k, child) in o {
                if k == "contained" {
                    continue;
                }
                let p = format!("{path}.{k}");
                if k == "extension" || k == "modifierExtension" {
                    for (i, e) in child.as_array().into_iter().flatten().enumerate() {
                        if let Some(eo) = e.as_object() {
                            if eo.contains_key("extension") == has_choice(eo, "value") {
                                out.push(v("ext-1", format!("{p}[{i}]"), "an extension must have either extensions or value[x], not both"));
                            }
                        }
                    }
                }
                if k == "period" || k.ends_with("Period") {
                    if let (Some(s), Some(e)) = (
                        child.get("start").and_then(Value::as_str),
                        child.get("end").and_then(Value::as_str),
                    ) {
                        if !ordered(s, e) {
                            out.push(v(
                                "per-1",
                                p.clone(),
                                "if present, start SHALL have a lower value than end",
                            ));
                        }
                    }
                }
                walk(child, &p, out);
            }
        }
        Value::Array(a) => {
            for (i, item) in a.iter().enumerate() {
                walk(item, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(t: ResourceType, v: Value) -> Vec<&'static str> {
        check(t, v.as_object().unwrap())
            .into_iter()
            .map(|x| x.key)
            .collect()
    }

    #[test]
    fn appointment_invariants() {
        let ok = json!({"status": "booked", "start": "2026-01-01T10:00:00Z", "end": "2026-01-01T11:00:00Z", "participant": []});
        assert!(keys(ResourceType::Appointment, ok).is_empty());
        assert_eq!(
            keys(
                ResourceType::Appointment,
                json!({"status": "booked", "start": "2026-01-01T10:00:00Z"})
            ),
            ["app-2", "app-3"]
        );
        assert!(keys(ResourceType::Appointment, json!({"status": "proposed"})).is_empty());
        assert_eq!(
            keys(
                ResourceType::Appointment,
                json!({"status": "booked", "start": "2026-01-01T11:00:00Z", "end": "2026-01-01T10:00:00+00:00"})
            ),
            ["fhirgate-app-1"]
        );
        assert_eq!(
            keys(
                ResourceType::Appointment,
                json!({"status": "booked", "start": "2026-01-01T10:00:00Z", "end": "2026-01-01T11:00:00Z", "cancelationReason": {"text": "x"}})
            ),
            ["app-4"]
        );
    }

    #[test]
    fn observation_and_datatype_invariants() {
        assert_eq!(
            keys(
                ResourceType::Observation,
                json!({"valueString": "x", "dataAbsentReason": {"text": "y"}})
            ),
            ["obs-6"]
        );
        let obs7 = json!({"code": {"coding": [{"system": "s", "code": "c"}]}, "valueString": "x", "component": [{"code": {"coding": [{"system": "s", "code": "c"}]}}]});
        assert_eq!(keys(ResourceType::Observation, obs7), ["obs-7"]);
        assert_eq!(
            keys(ResourceType::Patient, json!({"extension": [{"url": "u"}]})),
            ["ext-1"]
        );
        assert_eq!(
            keys(
                ResourceType::Patient,
                json!({"extension": [{"url": "u", "valueString": "a", "extension": [{"url": "v", "valueString": "b"}]}]})
            ),
            ["ext-1"]
        );
        assert_eq!(
            keys(
                ResourceType::Patient,
                json!({"name": [{"period": {"start": "2020-02", "end": "2019"}}]})
            ),
            ["per-1"]
        );
        assert!(keys(
            ResourceType::Patient,
            json!({"name": [{"period": {"start": "2020-02", "end": "2020"}}]})
        )
        .is_empty());
        assert_eq!(
            keys(
                ResourceType::Patient,
                json!({"contact": [{"gender": "male"}]})
            ),
            ["pat-1"]
        );
        assert_eq!(
            keys(
                ResourceType::Patient,
                json!({"contained": [{"resourceType": "Organization", "meta": {"versionId": "1"}}]})
            ),
            ["dom-4"]
        );
    }
}
