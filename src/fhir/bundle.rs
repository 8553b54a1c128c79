//! Bundle serialisation (http://hl7.org/fhir/R4/bundle.html). Stored resources are
//! embedded as raw JSON, so a history or search page costs no re-parse.

use serde::Serialize;
use serde_json::value::RawValue;

use super::error::FhirError;
use super::resource::{instant, now_ms};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    resource_type: &'static str,
    id: String,
    meta: Meta,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub link: Vec<Link>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entry: Vec<Entry>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    last_updated: String,
}

#[derive(Serialize)]
pub struct Link {
    pub relation: &'static str,
    pub url: String,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<Box<RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search: Option<EntrySearch>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<EntryRequest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<EntryResponse>,
}

#[derive(Serialize)]
pub struct EntrySearch {
    pub mode: &'static str,
}

#[derive(Serialize)]
pub struct EntryRequest {
    pub method: &'static str,
    pub url: String,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct EntryResponse {
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Box<RawValue>>,
}

impl Bundle {
    pub fn new(kind: &'static str) -> Self {
        Self {
            resource_type: "Bundle",
            id: uuid::Uuid::new_v4().to_string(),
            meta: Meta {
                last_updated: instant(now_ms()),
            },
            kind,
            total: None,
            link: Vec::new(),
            entry: Vec::new(),
        }
    }

    pub fn to_json(&self) -> Result<Vec<u8>, FhirError> {
        serde_json::to_vec(self).map_err(|e| FhirError::Internal(e.to_string()))
    }
}

/// Stored JSON bytes as an embeddable raw value.
pub fn raw(json: Vec<u8>) -> Result<Box<RawValue>, FhirError> {
    let text = String::from_utf8(json).map_err(|e| FhirError::Internal(e.to_string()))?;
    RawValue::from_string(text).map_err(|e| FhirError::Internal(e.to_string()))
}
