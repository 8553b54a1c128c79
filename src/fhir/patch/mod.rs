//! Patch documents (http://hl7.org/fhir/R4/http.html#patch): JSON Patch (RFC
//! 6902, `application/json-patch+json`) or FHIRPath Patch (a Parameters
//! resource, http://hl7.org/fhir/R4/fhirpatch.html, `fhirpath.rs`), parsed and
//! applied to a document. The engine (engine/patch.rs) applies them to the
//! current version under its row lock and writes the result like an update.

use fhirgate_validate::{Invariants, IssueCode};
use serde_json::Value;

use super::error::FhirError;
use crate::model::ResourceType;

mod fhirpath;
mod params;

pub fn unprocessable(msg: impl Into<String>) -> FhirError {
    FhirError::UnprocessablePatch(msg.into())
}

/// The patch document, read before the database work (its kind comes from the
/// Content-Type, http.html#patch; in a Bundle, from the entry's resource).
#[derive(Debug, Clone)]
pub enum PatchDoc {
    Json(json_patch::Patch),
    FhirPath(Value),
}

/// A JSON Patch document (RFC 6902), through the strict parser first: like a
/// resource, it may hold at most `max_nodes` JSON values (413), and a duplicate
/// key in an operation is refused rather than read one way of two.
pub fn json_patch_doc(body: &[u8], max_nodes: usize) -> Result<PatchDoc, FhirError> {
    let value = match fhirgate_validate::parse_json_value_with(body, max_nodes) {
        Ok(v) => v,
        Err(fhirgate_validate::JsonError::TooManyNodes { limit }) => {
            return Err(FhirError::TooManyNodes(limit))
        }
        Err(fhirgate_validate::JsonError::Invalid(issue)) => {
            return Err(FhirError::invalid(
                IssueCode::Structure,
                None,
                format!("not a JSON Patch document: {}", issue.diagnostics),
            ))
        }
    };
    serde_json::from_value(value)
        .map(PatchDoc::Json)
        .map_err(|e| {
            FhirError::invalid(
                IssueCode::Structure,
                None,
                format!("not a JSON Patch document: {e}"),
            )
        })
}

impl PatchDoc {
    /// The patch of a Bundle entry (http://hl7.org/fhir/R4/http.html#transaction):
    /// a Binary whose contentType is application/json-patch+json and whose data
    /// is the base64 JSON Patch, or a Parameters resource (FHIRPath Patch).
    pub fn from_entry(resource: &Value, max_nodes: usize) -> Result<Self, FhirError> {
        match resource.get("resourceType").and_then(Value::as_str) {
            Some("Parameters") => Ok(PatchDoc::FhirPath(resource.clone())),
            Some("Binary") => {
                let ct = resource
                    .get("contentType")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if !ct.starts_with("application/json-patch+json") {
                    return Err(FhirError::invalid(
                        IssueCode::NotSupported,
                        Some("Binary.contentType"),
                        format!("a PATCH Binary must be application/json-patch+json, not {ct:?}"),
                    ));
                }
                use base64::Engine;
                let data = resource.get("data").and_then(Value::as_str).unwrap_or("");
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(data)
                    .map_err(|_| {
                        FhirError::invalid(
                            IssueCode::Invalid,
                            Some("Binary.data"),
                            "Binary.data is not base64",
                        )
                    })?;
                json_patch_doc(&bytes, max_nodes)
            }
            _ => Err(FhirError::invalid(
                IssueCode::Invalid,
                None,
                "a PATCH entry's resource is a Binary (JSON Patch) or a Parameters resource (FHIRPath Patch)",
            )),
        }
    }
}

pub fn apply(
    p: &PatchDoc,
    doc: &mut Value,
    rtype: ResourceType,
    inv: &Invariants,
) -> Result<(), FhirError> {
    match p {
        // RFC 5789 / RFC 6902: a patch that cannot be applied is 422.
        PatchDoc::Json(patch) => json_patch::patch(doc, patch)
            .map_err(|e| unprocessable(format!("the JSON Patch cannot be applied: {e}"))),
        PatchDoc::FhirPath(params) => fhirpath::apply(doc, params, rtype, inv),
    }
}
