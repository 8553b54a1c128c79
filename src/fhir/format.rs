//! Content negotiation (http://hl7.org/fhir/R4/http.html#mime-type): JSON is the
//! default; XML by Accept, Content-Type or `_format`; `_pretty` indents.
//! Stored resources are the client's JSON, so a compact JSON read is a straight
//! copy of the decrypted bytes, and XML is produced from it on the way out.

use actix_web::http::header;
use actix_web::HttpRequest;
use fhirgate_validate::IssueCode;
use serde_json::Value;

use super::error::FhirError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/fhir+json; charset=utf-8",
            Format::Xml => "application/fhir+xml; charset=utf-8",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub format: Format,
    pub pretty: bool,
}

/// A media type (without parameters) as a FHIR format, if it is one.
fn media_format(media: &str) -> Option<Format> {
    match media.trim().to_ascii_lowercase().as_str() {
        "application/fhir+json" | "application/json" | "application/json+fhir" | "json" => {
            Some(Format::Json)
        }
        "application/fhir+xml"
        | "application/xml"
        | "application/xml+fhir"
        | "text/xml"
        | "xml" => Some(Format::Xml),
        _ => None,
    }
}

/// Refuses a `fhirVersion` mime parameter naming another FHIR version
/// (http://hl7.org/fhir/R4/http.html#version-parameter).
fn version_ok(params: &str) -> bool {
    params.split(';').all(|p| match p.split_once('=') {
        Some((k, v)) if k.trim().eq_ignore_ascii_case("fhirVersion") => {
            v.trim().trim_matches('"').starts_with("4.0")
        }
        _ => true,
    })
}

pub fn negotiate(req: &HttpRequest, query: &[(String, String)]) -> Result<Output, FhirError> {
    let pretty = query.iter().any(|(k, v)| k == "_pretty" && v == "true");
    if let Some((_, f)) = query.iter().find(|(k, _)| k == "_format") {
        let media = f.split(';').next().unwrap_or("");
        return media_format(media)
            .map(|format| Output { format, pretty })
            .ok_or_else(|| {
                FhirError::NotAcceptable(format!("_format {f:?} is not supported; use json or xml"))
            });
    }
    let Some(accept) = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(Output {
            format: Format::Json,
            pretty,
        });
    };
    let mut best: Option<(f32, usize, Format)> = None;
    for (pos, item) in accept.split(',').enumerate() {
        let mut parts = item.splitn(2, ';');
        let media = parts.next().unwrap_or("").trim();
        let params = parts.next().unwrap_or("");
        let q = params
            .split(';')
            .find_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
            })
            .unwrap_or(1.0);
        let format = match media {
            "*/*" | "application/*" => Some(Format::Json),
            m => media_format(m),
        };
        if let Some(format) = format {
            if q > 0.0
                && version_ok(params)
                && best.is_none_or(|(bq, bp, _)| q > bq || (q == bq && pos < bp))
            {
                best = Some((q, pos, format));
            }
        }
    }
    best.map(|(_, _, format)| Output { format, pretty }).ok_or_else(|| {
        FhirError::NotAcceptable("Accept names no supported format; use application/fhir+json or application/fhir+xml".into())
    })
}

/// The format of a request body, from Content-Type.
pub fn input_format(req: &HttpRequest) -> Result<Format, FhirError> {
    let Some(ct) = req.headers().get(header::CONTENT_TYPE) else {
        return Err(FhirError::UnsupportedMediaType(
            "Content-Type is required: application/fhir+json or application/fhir+xml".into(),
        ));
    };
    let ct = ct.to_str().unwrap_or("");
    let (media, params) = ct.split_once(';').unwrap_or((ct, ""));
    match media_format(media) {
        Some(f) if version_ok(params) => Ok(f),
        _ => Err(FhirError::UnsupportedMediaType(format!(
            "Content-Type {:?} is not supported; use application/fhir+json or application/fhir+xml",
            media.chars().take(64).collect::<String>()
        ))),
    }
}

/// Parses a request body into FHIR JSON, strictly, with at most `max_nodes` JSON
/// values per resource (413 past it; for XML, counted on its JSON form).
pub fn parse_body(format: Format, body: &[u8], max_nodes: usize) -> Result<Value, FhirError> {
    let json_text;
    let bytes = match format {
        Format::Json => body,
        Format::Xml => {
            json_text = fhirgate_xml::xml_to_json(body).map_err(|e| {
                FhirError::invalid(
                    IssueCode::Structure,
                    None,
                    format!("invalid FHIR XML: {}", e.message()),
                )
            })?;
            json_text.as_bytes()
        }
    };
    fhirgate_validate::parse_json_with(bytes, max_nodes).map_err(|e| match e {
        fhirgate_validate::JsonError::Invalid(issue) => FhirError::Invalid(vec![issue]),
        fhirgate_validate::JsonError::TooManyNodes { limit } => FhirError::TooManyNodes(limit),
    })
}

/// Renders FHIR JSON text in the negotiated output format.
pub fn render(out: Output, json: &[u8]) -> Result<Vec<u8>, FhirError> {
    match (out.format, out.pretty) {
        (Format::Json, false) => Ok(json.to_vec()),
        (Format::Json, true) => {
            let v: Value = serde_json::from_slice(json)
                .map_err(|e| FhirError::Internal(format!("stored JSON: {e}")))?;
            serde_json::to_vec_pretty(&v).map_err(|e| FhirError::Internal(e.to_string()))
        }
        (Format::Xml, pretty) => {
            let text = std::str::from_utf8(json).map_err(|e| FhirError::Internal(e.to_string()))?;
            // A stored resource that XML cannot carry (the XML helper refuses, e.g. a
            // control character XML 1.0 forbids) is not a server fault: the client
            // can still have it as JSON.
            fhirgate_xml::json_to_xml(text, pretty)
                .map(String::into_bytes)
                .map_err(|e| match e {
                    fhirgate_xml::XmlError::Internal(m) => {
                        FhirError::Internal(format!("XML rendering: {m}"))
                    }
                    other => FhirError::NotAcceptable(format!(
                        "this content cannot be rendered as XML ({}); request JSON",
                        other.message()
                    )),
                })
        }
    }
}
