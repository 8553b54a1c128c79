//! The CapabilityStatement (http://hl7.org/fhir/R4/capabilitystatement.html),
//! generated from what is implemented, so it cannot claim more than exists.

use fhirgate_search::{ParamType, Registry};
use serde_json::{json, Value};

use crate::model::{Descriptor, ResourceType};

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

/// The interactions a type supports (http://hl7.org/fhir/R4/http.html), in
/// the order this statement has always listed them.
fn interactions(d: &Descriptor) -> Vec<&'static str> {
    let (write, history) = (d.client_writable, d.has_history);
    [
        ("read", true),
        ("vread", history),
        ("update", write),
        ("patch", write),
        ("delete", write),
        ("history-instance", history),
        ("history-type", history),
        ("create", write),
        ("search-type", true),
    ]
    .into_iter()
    .filter_map(|(code, on)| on.then_some(code))
    .collect()
}

/// `rest.security`: SMART on FHIR (https://hl7.org/fhir/smart-app-launch/STU2/).
/// SMART 2.0.0 discovers endpoints through `.well-known/smart-configuration`
/// and calls this way deprecated, but clients still read it (the Python
/// `fhirclient` finds the endpoints only here): the SMART-on-FHIR service
/// coding (R4 valueset-restful-security-service) and the `oauth-uris`
/// extension. The paths are those of `oauth::paths` (a layer above this one:
/// tests/api/smart_discovery.rs checks they agree).
fn security(base: &str) -> Value {
    let uri = |name: &str, path: &str| json!({"url": name, "valueUri": format!("{base}{path}")});
    json!({
        "extension": [{
            "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
            "extension": [
                uri("authorize", "/auth/authorize"),
                uri("token", "/auth/token"),
                uri("introspect", "/auth/introspect"),
                uri("revoke", "/auth/revoke")
            ]
        }],
        "service": [{
            "coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                "code": "SMART-on-FHIR",
                "display": "SMART-on-FHIR"
            }],
            "text": "OAuth2 using SMART-on-FHIR profile (see http://docs.smarthealthit.org)"
        }],
        "description": "SMART App Launch 2.0.0: see .well-known/smart-configuration"
    })
}

pub fn capability_statement(registry: &Registry, base: &str) -> Value {
    let resources: Vec<Value> = ResourceType::ALL
        .iter()
        .map(|&t| {
            let d = t.descriptor();
            let interactions = interactions(d);
            let params: Vec<Value> = registry
                .params(t.as_str())
                .iter()
                // Exactly what the engine answers (search/criteria.rs `searchable`):
                // AuditEvents through their projected columns and terms, others through the index.
                .filter(|p| crate::fhir::search::searchable(registry, t, &p.code))
                .map(|p| json!({"name": p.code, "definition": p.url, "type": type_name(p.param_type)}))
                .collect();
            let mut r = json!({
                "type": t.as_str(),
                "profile": format!("http://hl7.org/fhir/StructureDefinition/{t}"),
                "interaction": interactions.iter().map(|i| json!({"code": i})).collect::<Vec<_>>(),
                "versioning": "versioned",
                "readHistory": true,
                "updateCreate": d.client_writable,
                "conditionalCreate": d.client_writable,
                // If-None-Match and If-Modified-Since (handlers/conditional_read.rs).
                "conditionalRead": "full-support",
                "conditionalUpdate": d.client_writable,
                "conditionalDelete": if d.client_writable { "single" } else { "not-supported" },
                "searchParam": params
            });
            if !d.operations.is_empty() {
                let ops: Vec<Value> = d.operations.iter().map(|op| json!({
                    "name": op,
                    "definition": format!("http://hl7.org/fhir/OperationDefinition/{t}-{op}")
                })).collect();
                if let Some(o) = r.as_object_mut() {
                    o.insert("operation".into(), json!(ops));
                }
            }
            // Only the generic index answers _include and _revinclude.
            if d.indexed() {
                // search.html#include: every reference parameter of this type, and of
                // the served types whose references can point here.
                let refs = |rt: ResourceType| {
                    registry.params(rt.as_str()).iter().filter(move |p| {
                        p.param_type == ParamType::Reference && crate::fhir::search::searchable(registry, rt, &p.code)
                    })
                };
                let mut inc = vec!["*".to_owned()];
                inc.extend(refs(t).map(|p| format!("{t}:{}", p.code)));
                let mut rev = Vec::new();
                for src in ResourceType::ALL.into_iter().filter(|s| s.descriptor().indexed()) {
                    rev.extend(
                        refs(src)
                            .filter(|p| p.targets.is_empty() || p.targets.iter().any(|x| x == t.as_str()))
                            .map(|p| format!("{src}:{}", p.code)),
                    );
                }
                if let Some(o) = r.as_object_mut() {
                    o.insert("searchInclude".into(), json!(inc));
                    o.insert("searchRevInclude".into(), json!(rev));
                }
            }
            if !d.client_writable {
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
            "security": security(base),
            "resource": resources,
            "interaction": [{"code": "transaction"}, {"code": "batch"}, {"code": "history-system"}]
        }]
    })
}
