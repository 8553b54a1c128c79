//! The AuditEvent resource for an [`AuditRecord`], after IHE BALP's RESTful
//! activity pattern (https://profiles.ihe.net/ITI/BALP/content.html#3573-restful-activities).

use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;

use super::AuditRecord;
use crate::model::{ResourceId, ResourceType};

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

/// A coded value written by the server (R4 Coding).
#[derive(Serialize)]
pub struct Code {
    pub system: &'static str,
    pub code: &'static str,
    pub display: &'static str,
}

const fn code(system: &'static str, code: &'static str, display: &'static str) -> Code {
    Code {
        system,
        code,
        display,
    }
}

const ENTITY_TYPE: &str = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
const OBJECT_ROLE: &str = "http://terminology.hl7.org/CodeSystem/object-role";
const SYSTEM_OBJECT: Code = code(ENTITY_TYPE, "2", "System Object");
const PERSON: Code = code(ENTITY_TYPE, "1", "Person");

#[derive(Serialize)]
struct Reference<'a> {
    reference: Cow<'a, str>,
}

#[derive(Serialize)]
struct CodeableConcept {
    coding: [Code; 1],
}

#[derive(Serialize)]
struct Display {
    display: &'static str,
}

/// AuditEvent.agent.who: a reference (a user's `fhirUser`), or an
/// identifier (an OAuth client), or a display.
#[derive(Serialize)]
struct Who<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    reference: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    identifier: Option<Identifier<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    display: Option<&'a str>,
}

#[derive(Serialize)]
struct Identifier<'a> {
    system: &'static str,
    value: &'a str,
}

/// The system of OAuth client ids in AuditEvent.agent.who.identifier.
pub const CLIENT_ID_SYSTEM: &str = "urn:fhirgate:oauth-client";
/// The system of user names without a FHIR user.
pub const USER_SYSTEM: &str = "urn:fhirgate:user";

#[derive(Serialize)]
struct Network<'a> {
    address: &'a str,
    /// 2: IP address (http://hl7.org/fhir/R4/valueset-network-type.html).
    #[serde(rename = "type")]
    kind: &'static str,
}

/// AuditEvent.agent, in R4 element order.
#[derive(Serialize)]
struct Agent<'a> {
    #[serde(rename = "type")]
    kind: CodeableConcept,
    who: Who<'a>,
    requestor: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    network: Option<Network<'a>>,
}

/// AuditEvent.entity, in R4 element order.
#[derive(Serialize)]
pub struct Entity<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    what: Option<Reference<'a>>,
    #[serde(rename = "type")]
    pub kind: Code,
    pub role: Code,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    query: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Meta<'a> {
    version_id: &'static str,
    last_updated: &'a str,
}

#[derive(Serialize)]
pub struct Source {
    pub site: &'static str,
    observer: Display,
    #[serde(rename = "type")]
    kind: [Code; 1],
}

/// AuditEvent.period: when the refusals one event stands for fell
/// (audit/refusals.rs).
#[derive(Serialize)]
struct Period {
    start: String,
    end: String,
}

/// The AuditEvent the server writes, serialised straight from this struct (in R4
/// element order) rather than built as a `serde_json::Value`: building the
/// Value and serialising it was a third of the audit writer's CPU under read load.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event<'a> {
    resource_type: &'static str,
    id: &'a str,
    meta: Meta<'a>,
    #[serde(rename = "type")]
    kind: Code,
    subtype: [Code; 1],
    action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    period: Option<Period>,
    recorded: &'a str,
    outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome_desc: Option<String>,
    agent: Vec<Agent<'a>>,
    pub source: Source,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entity: Vec<Entity<'a>>,
}

/// The AuditEvent of `r`; `recorded` is its instant as FHIR instant text.
pub fn build<'a>(r: &'a AuditRecord, id: &'a ResourceId, recorded: &'a str) -> Event<'a> {
    let mut entity = Vec::new();
    if let (Some(t), Some(i)) = (&r.resource_type, &r.id) {
        let what = match r.version {
            Some(v) => format!("{t}/{i}/_history/{v}"),
            None => format!("{t}/{i}"),
        };
        entity.push(Entity {
            what: Some(Reference {
                reference: Cow::Owned(what),
            }),
            kind: SYSTEM_OBJECT,
            role: code(OBJECT_ROLE, "4", "Domain Resource"),
            description: None,
            query: None,
        });
    }
    if let Some(q) = &r.query {
        use base64::Engine;
        entity.push(Entity {
            what: None,
            kind: SYSTEM_OBJECT,
            role: code(OBJECT_ROLE, "24", "Query"),
            description: r.resource_type.as_ref().map(|t| format!("{t} query")),
            query: Some(base64::engine::general_purpose::STANDARD.encode(q.as_bytes())),
        });
    }
    for p in &r.patients {
        entity.push(Entity {
            what: Some(Reference {
                reference: Cow::Borrowed(p),
            }),
            kind: PERSON,
            role: code(OBJECT_ROLE, "1", "Patient"),
            description: None,
            query: None,
        });
    }
    let agent = |kind: Code, who: Who<'a>, requestor, addr: &'a Option<String>| Agent {
        kind: CodeableConcept { coding: [kind] },
        who,
        requestor,
        network: addr
            .as_deref()
            .map(|address| Network { address, kind: "2" }),
    };
    let display = |d: &'a str| Who {
        reference: None,
        identifier: None,
        display: Some(d),
    };
    // IHE BALP (https://profiles.ihe.net/ITI/BALP/content.html#3573-restful-activities):
    // the client application (its OAuth client_id, at its network address),
    // the user on whose behalf it acts (their fhirUser, a "humanuser"
    // agent, the requestor), and this server.
    let mut agents = Vec::with_capacity(3);
    let client = match &r.client_id {
        Some(id) => Who {
            reference: None,
            identifier: Some(Identifier {
                system: CLIENT_ID_SYSTEM,
                value: id,
            }),
            display: None,
        },
        None => display("unauthenticated client"),
    };
    agents.push(agent(
        code(DCM, "110153", "Source Role ID"),
        client,
        r.user.is_none(),
        &r.client_addr,
    ));
    if let Some(user) = &r.user {
        let who = match user.strip_prefix("user:") {
            Some(name) => Who {
                reference: None,
                identifier: Some(Identifier {
                    system: USER_SYSTEM,
                    value: name,
                }),
                display: None,
            },
            None => Who {
                reference: Some(user),
                identifier: None,
                display: None,
            },
        };
        agents.push(agent(
            code(
                "http://terminology.hl7.org/CodeSystem/extra-security-role-type",
                "humanuser",
                "human user",
            ),
            who,
            true,
            &None,
        ));
    }
    agents.push(agent(
        code(DCM, "110152", "Destination Role ID"),
        display("fhirgate"),
        false,
        &r.server_addr,
    ));
    Event {
        resource_type: ResourceType::AuditEvent.as_str(),
        id: id.as_str(),
        meta: Meta {
            version_id: "1",
            last_updated: recorded,
        },
        kind: code(
            "http://terminology.hl7.org/CodeSystem/audit-event-type",
            "rest",
            "RESTful Operation",
        ),
        subtype: [code(
            "http://hl7.org/fhir/restful-interaction",
            r.interaction.code(),
            r.interaction.code(),
        )],
        action: r.interaction.action(),
        period: r.repeated.as_ref().map(|x| Period {
            start: crate::time::instant(x.first),
            end: crate::time::instant(x.last),
        }),
        recorded,
        outcome: outcome(r.status),
        outcome_desc: match &r.repeated {
            Some(x) => Some(format!(
                "HTTP {} to {} more requests of this client within the period (over the rate limit)",
                r.status, x.count
            )),
            None => (r.status >= 400).then(|| format!("HTTP {}", r.status)),
        },
        agent: agents,
        source: Source {
            site: "fhirgate",
            observer: Display {
                display: "fhirgate",
            },
            kind: [code(
                "http://terminology.hl7.org/CodeSystem/security-source-type",
                "4",
                "Application Server",
            )],
        },
        entity,
    }
}

/// The AuditEvent of `r` as JSON, for the tests.
#[cfg(test)]
pub fn to_resource(
    r: &AuditRecord,
    id: &ResourceId,
    recorded: chrono::DateTime<chrono::Utc>,
) -> Value {
    let text = crate::time::instant(recorded);
    serde_json::to_value(build(r, id, &text)).unwrap_or(Value::Null)
}

/// The server's own records, for the tests: read and search of a patient, a
/// create, and a refused read with the addresses of both ends.
#[cfg(test)]
pub(crate) fn sample_records() -> Vec<AuditRecord> {
    let mut read = AuditRecord::new(super::Interaction::Read);
    read.resource_type = Some("Patient".into());
    read.id = Some("p1".into());
    read.version = Some(1);
    read.patients = vec!["Patient/p1".into()];
    read.client_addr = Some("127.0.0.1".into());
    read.status = 200;
    let mut search = AuditRecord::new(super::Interaction::SearchType);
    search.resource_type = Some("Patient".into());
    search.query = Some("family=Zyxqvorth".into());
    search.status = 200;
    let mut create = AuditRecord::new(super::Interaction::Create);
    create.resource_type = Some("Observation".into());
    create.id = Some("o1".into());
    create.status = 201;
    let mut refused = AuditRecord::new(super::Interaction::Read);
    refused.resource_type = Some("Patient".into());
    refused.id = Some("p2".into());
    refused.client_addr = Some("10.0.0.9".into());
    refused.server_addr = Some("10.0.0.1".into());
    refused.status = 404;
    vec![read, search, create, refused]
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
/// (http://hl7.org/fhir/R4/compartmentdefinition-patient.html), as its type's
/// descriptor says ([`crate::model::Descriptor::patient_refs`]); none for a
/// type not served.
pub fn patient_refs(resource_type: &str, id: Option<&str>, resource: &Value) -> Vec<String> {
    ResourceType::parse(resource_type)
        .map(|t| t.descriptor().patient_refs(id, resource))
        .unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use chrono::Utc;

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

    /// Every shape the server writes is valid R4 (the official JSON Schema and
    /// the rules it cannot express), as a client reading it would check.
    #[test]
    fn events_are_valid_r4() {
        let v = fhirgate_validate::Validator::new(&["AuditEvent"]).unwrap();
        let id = ResourceId::generate();
        for r in sample_records() {
            let e = to_resource(&r, &id, Utc::now());
            assert_eq!(v.validate("AuditEvent", &e), Ok(()), "{e}");
        }
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
