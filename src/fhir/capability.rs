//! The CapabilityStatement (http://hl7.org/fhir/R4/capabilitystatement.html),
//! generated from what is implemented, so it cannot claim more than exists.

use fhirgate_search::{ParamType, Registry};
use serde_json::{json, Value};

use crate::model::ResourceType;

/// Parameter types the search engine evaluates today (src/fhir/search/sql.rs).
pub fn search_supported(t: ParamType) -> bool {
    matches!(
        t,
        ParamType::Token
            | ParamType::String
            | ParamType::Reference
            | ParamType::Date
            | ParamType::Uri
    )
}

fn type_name(t: ParamType) -> &'static str {
    match t {
        ParamType::Number => "number",
        ParamType::Date => "date",
        ParamType::String => "string",
        ParamType::Token => "token",
        ParamType::Reference => "reference",
        ParamType::Composite => "composite",
        ParamType::Quantity => "quantity",
        ParamType::Uri => "uri",
        ParamType::Special => "special",
    }
}

pub fn capability_statement(registry: &Registry, base: &str) -> Value {
    let resources: Vec<Value> = ResourceType::ALL
        .iter()
        .map(|&t| {
            let interactions: &[&str] = if t.client_writable() {
                &["read", "vread", "update", "delete", "history-instance", "history-type", "create", "search-type"]
            } else {
                &["read", "search-type"]
            };
            let params: Vec<Value> = registry
                .params(t.as_str())
                .iter()
                .filter(|p| match t {
                    // AuditEvents are searched through their projected columns.
                    ResourceType::AuditEvent => crate::fhir::search::AUDIT_PARAMS.contains(&p.code.as_str()),
                    _ => search_supported(p.param_type) && !p.code.starts_with('_') || p.code == "_id",
                })
                .map(|p| json!({"name": p.code, "definition": p.url, "type": type_name(p.param_type)}))
                .collect();
            let mut r = json!({
                "type": t.as_str(),
                "profile": format!("http://hl7.org/fhir/StructureDefinition/{t}"),
                "interaction": interactions.iter().map(|i| json!({"code": i})).collect::<Vec<_>>(),
                "versioning": "versioned",
                "readHistory": true,
                "updateCreate": t.client_writable(),
                "conditionalCreate": t.client_writable(),
                "conditionalRead": "not-supported",
                "conditionalUpdate": t.client_writable(),
                "conditionalDelete": if t.client_writable() { "single" } else { "not-supported" },
                "searchParam": params
            });
            if !t.client_writable() {
                if let Some(o) = r.as_object_mut() {
                    for k in ["updateCreate", "conditionalCreate", "conditionalUpdate"] {
                        o.remove(k);
                    }
                }
            }
            r
        })
        .collect();
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-23",
        "publisher": "fhirgate",
        "kind": "instance",
        "software": {"name": "fhirgate", "version": env!("CARGO_PKG_VERSION")},
        "implementation": {"description": "fhirgate FHIR R4 gateway", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "application/fhir+xml"],
        "rest": [{
            "mode": "server",
            "resource": resources
        }]
    })
}
