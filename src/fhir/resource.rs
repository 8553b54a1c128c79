//! Incoming resources: the checks that tie a resource to its URL, validation,
//! and the server-owned `id` / `meta` fields. Reading and parsing an HTTP body
//! is the adapter's (fhir/handlers/body.rs).

use chrono::{DateTime, Utc};
use fhirgate_validate::IssueCode;
use serde_json::{Map, Value};

use super::error::FhirError;
use super::FhirModel;
use crate::model::{ResourceId, ResourceType};

/// Where the body's `id` must agree with the URL.
pub enum IdRule<'a> {
    /// create: a client id is ignored (http://hl7.org/fhir/R4/http.html#create).
    Ignore,
    /// update: the body SHALL carry the URL's id (http://hl7.org/fhir/R4/http.html#update).
    MustEqual(&'a ResourceId),
    /// conditional update: any valid id, or none.
    Optional,
}

/// Validates a parsed resource of `rtype` (a body, or a Bundle entry's resource):
/// resourceType, id rule, the R4 schema, the R4 invariants and the server's own `rules`.
pub fn check_resource(
    mut map: Map<String, Value>,
    rtype: ResourceType,
    model: &FhirModel,
    id_rule: IdRule<'_>,
) -> Result<Map<String, Value>, FhirError> {
    match map.get("resourceType").and_then(Value::as_str) {
        Some(t) if t == rtype.as_str() => {}
        Some(_) => {
            return Err(FhirError::invalid(
                IssueCode::Invalid,
                Some("resourceType"),
                format!("resourceType does not match the URL, which names {rtype}"),
            ))
        }
        None => {
            return Err(FhirError::invalid(
                IssueCode::Required,
                Some("resourceType"),
                "resourceType is missing",
            ))
        }
    }
    let body_id = map
        .get("id")
        .map(|v| v.as_str().and_then(ResourceId::parse));
    match (id_rule, body_id) {
        (IdRule::Ignore, _) => {
            map.shift_remove("id");
        }
        (_, Some(None)) => {
            return Err(FhirError::invalid(
                IssueCode::Value,
                Some(&format!("{rtype}.id")),
                "id must match [A-Za-z0-9\\-\\.]{1,64}",
            ))
        }
        (IdRule::MustEqual(url_id), Some(Some(id))) if &id == url_id => {}
        (IdRule::MustEqual(_), Some(Some(_))) => {
            return Err(FhirError::invalid(
                IssueCode::Invalid,
                Some(&format!("{rtype}.id")),
                "the id in the body differs from the id in the URL",
            ))
        }
        (IdRule::MustEqual(_), None) => {
            return Err(FhirError::invalid(
                IssueCode::Required,
                Some(&format!("{rtype}.id")),
                "an update must carry the resource id in the body",
            ))
        }
        (IdRule::Optional, _) => {}
    }
    // The server owns meta.versionId and meta.lastUpdated; validate without them so a
    // client's stale values are not judged, then replace them on write.
    let value = Value::Object(map);
    model
        .validator
        .validate(rtype.as_str(), &value)
        .map_err(FhirError::Invalid)?;
    // Invariants only once the structure is valid: they assume it.
    let (structure, mut violations) = model.invariants.check_all(rtype.as_str(), &value);
    if !structure.is_empty() {
        return Err(FhirError::Invalid(
            structure
                .into_iter()
                .map(|v| fhirgate_validate::Issue {
                    code: IssueCode::Structure,
                    expression: Some(v.expression),
                    diagnostics: v.text,
                })
                .collect(),
        ));
    }
    match value {
        Value::Object(map) => {
            violations.extend(super::rules::check(rtype, &map));
            if violations.is_empty() {
                Ok(map)
            } else {
                Err(FhirError::Unprocessable(violations))
            }
        }
        _ => Err(FhirError::Internal("resource changed shape".into())),
    }
}

// Defined below the audit layer, which writes instants too; kept here for the
// FHIR modules that import them from this module.
pub use crate::time::{instant, now_ms};

/// Sets `id`, `meta.versionId` and `meta.lastUpdated`, keeping every other
/// element (meta.profile, tag, security, source, extensions) as the client sent it.
/// Returns the resource and its JSON text as stored.
pub fn finalize(
    mut map: Map<String, Value>,
    id: &ResourceId,
    version: i32,
    last_updated: DateTime<Utc>,
) -> Result<(Value, Vec<u8>), FhirError> {
    let mut meta = match map.shift_remove("meta") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    meta.shift_remove("versionId");
    meta.shift_remove("lastUpdated");
    let mut new_meta = Map::new();
    new_meta.insert("versionId".into(), Value::String(version.to_string()));
    new_meta.insert("lastUpdated".into(), Value::String(instant(last_updated)));
    new_meta.extend(meta);
    let resource_type = map.shift_remove("resourceType").unwrap_or(Value::Null);
    map.shift_remove("id");
    let mut out = Map::with_capacity(map.len() + 3);
    out.insert("resourceType".into(), resource_type);
    out.insert("id".into(), Value::String(id.as_str().to_owned()));
    out.insert("meta".into(), Value::Object(new_meta));
    out.extend(map);
    let value = Value::Object(out);
    let bytes = serde_json::to_vec(&value).map_err(|e| FhirError::Internal(e.to_string()))?;
    Ok((value, bytes))
}
