//! The AuditEvent resource for an [`AuditRecord`], after IHE BALP's RESTful
//! activity pattern (https://profiles.ihe.net/ITI/BALP/content.html#3573-restful-activities).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use super::AuditRecord;
use crate::model::ResourceId;

const DCM: &str = "http://dicom.nema.org/resources/ontology/DCM";

/// AuditEvent.outcome (http://hl7.org/fhir/R4/valueset-audit-event-outcome.html):
/// 0 success, 4 minor failure (the client's request was refused), 8 serious
/// failure (the server failed).
pub fn outcome(status: u16) -> &'static str {
    match status {
        0..=399 => "0",
        400..=499 => "4",
        _ => "8",
    }
}

pub fn to_resource(r: &AuditRecord, id: &ResourceId, recorded: DateTime<Utc>) -> Value {
    let mut entities = Vec::new();
    if let (Some(t), Some(i)) = (&r.resource_type, &r.id) {
        let what = match r.version {
            Some(v) => format!("{t}/{i}/_history/{v}"),
            None => format!("{t}/{i}"),
        };
        entities.push(json!({
            "what": {"reference": what},
            "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2", "display": "System Object"},
            "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "4", "display": "Domain Resource"}
        }));
    }
    if let Some(q) = &r.query {
        use base64::Engine;
        let mut e = json!({
            "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2", "display": "System Object"},
            "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "24", "display": "Query"},
            "query": base64::engine::general_purpose::STANDARD.encode(q.as_bytes())
        });
        if let (Some(t), Some(obj)) = (&r.resource_type, e.as_object_mut()) {
            obj.insert("description".into(), json!(format!("{t} query")));
        }
        entities.push(e);
    }
    for p in &r.patients {
        entities.push(json!({
            "what": {"reference": p},
            "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1", "display": "Person"},
            "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1", "display": "Patient"}
        }));
    }
    let mut client = json!({
        "type": {"coding": [{"system": DCM, "code": "110153", "display": "Source Role ID"}]},
        "who": {"display": "unauthenticated client"},
        "requestor": true
    });
    if let (Some(addr), Some(obj)) = (&r.client_addr, client.as_object_mut()) {
        obj.insert("network".into(), json!({"address": addr, "type": "2"}));
    }
    let mut server = json!({
        "type": {"coding": [{"system": DCM, "code": "110152", "display": "Destination Role ID"}]},
        "who": {"display": "fhirgate"},
        "requestor": false
    });
    if let (Some(addr), Some(obj)) = (&r.server_addr, server.as_object_mut()) {
        obj.insert("network".into(), json!({"address": addr, "type": "2"}));
    }
    let mut event = json!({
        "resourceType": "AuditEvent",
        "id": id.as_str(),
        "meta": {"versionId": "1", "lastUpdated": recorded.to_rfc3339_opts(SecondsFormat::Millis, true)},
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest", "display": "RESTful Operation"},
        "subtype": [{"system": "http://hl7.org/fhir/restful-interaction", "code": r.interaction.code(), "display": r.interaction.code()}],
        "action": r.interaction.action(),
        "recorded": recorded.to_rfc3339_opts(SecondsFormat::Millis, true),
        "outcome": outcome(r.status),
        "agent": [client, server],
        "source": {
            "site": "fhirgate",
            "observer": {"display": "fhirgate"},
            "type": [{"system": "http://terminology.hl7.org/CodeSystem/security-source-type", "code": "4", "display": "Application Server"}]
        }
    });
    if let Some(obj) = event.as_object_mut() {
        if r.status >= 400 {
            obj.insert("outcomeDesc".into(), json!(format!("HTTP {}", r.status)));
        }
        if !entities.is_empty() {
            obj.insert("entity".into(), json!(entities));
        }
    }
    event
}

/// "Type/id" of a relative or absolute reference (the projection's form).
pub fn relative(reference: &str) -> String {
    let mut parts = reference.rsplit('/');
    match (parts.next(), parts.next()) {
        (Some(id), Some(t)) => format!("{t}/{id}"),
        _ => reference.to_owned(),
    }
}

/// The patients a resource is about, for the audit entity: the Patient itself,
/// or the references that put the resource in a Patient's compartment
/// (http://hl7.org/fhir/R4/compartmentdefinition-patient.html).
pub fn patient_refs(resource_type: &str, id: Option<&str>, resource: &Value) -> Vec<String> {
    let reference = |v: &Value| {
        v.get("reference")
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let is_patient = |r: &String| r.starts_with("Patient/") || r.contains("/Patient/");
    let mut out: Vec<String> = match resource_type {
        "Patient" => id.map(|i| vec![format!("Patient/{i}")]).unwrap_or_default(),
        "Observation" | "MedicationRequest" => resource
            .get("subject")
            .and_then(reference)
            .into_iter()
            .collect(),
        "Appointment" => resource
            .get("participant")
            .and_then(Value::as_array)
            .map(|ps| {
                ps.iter()
                    .filter_map(|p| p.get("actor").and_then(reference))
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    out.retain(is_patient);
    out.dedup();
    out
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::audit::Interaction;

    #[test]
    fn balp_shape() {
        let mut r = AuditRecord::new(Interaction::Read);
        r.resource_type = Some("Patient".into());
        r.id = Some("p1".into());
        r.version = Some(2);
        r.status = 200;
        r.patients = vec!["Patient/p1".into()];
        let id = ResourceId::generate();
        let e = to_resource(&r, &id, Utc::now());
        assert_eq!(e["type"]["code"], "rest");
        assert_eq!(e["subtype"][0]["code"], "read");
        assert_eq!(e["action"], "R");
        assert_eq!(e["outcome"], "0");
        assert_eq!(e["entity"][0]["what"]["reference"], "Patient/p1/_history/2");
        assert_eq!(e["entity"][1]["role"]["code"], "1");
        assert_eq!(e["agent"][0]["requestor"], true);
        r.status = 404;
        assert_eq!(to_resource(&r, &id, Utc::now())["outcome"], "4");
    }

    #[test]
    fn patients_from_compartment_references() {
        let obs = serde_json::json!({"subject": {"reference": "Patient/a"}});
        assert_eq!(patient_refs("Observation", None, &obs), vec!["Patient/a"]);
        let grp = serde_json::json!({"subject": {"reference": "Group/g"}});
        assert!(patient_refs("Observation", None, &grp).is_empty());
        let appt = serde_json::json!({"participant": [{"actor": {"reference": "Practitioner/x"}}, {"actor": {"reference": "Patient/b"}}]});
        assert_eq!(patient_refs("Appointment", None, &appt), vec!["Patient/b"]);
    }
}
