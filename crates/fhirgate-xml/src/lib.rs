//! FHIR R4 XML <-> JSON conversion for fhirgate.
//!
//! Why a separate crate: fhirbolt 0.4 does its (de)serialisation through huge
//! generic code that is compiled in whichever crate instantiates it. Wrapping it
//! here behind two NON-generic functions means it is instantiated and compiled
//! once, in this crate, and cached; the server only sees `&[u8]`/`&str` in and
//! `String` out.
//!
//! Why Strict mode only: fhirbolt 0.4.0's Compatibility and Lax modes hang on
//! an unknown XML element. Strict rejects unknown elements instead.
//!
//! fhirbolt is never handed raw client input: `scan.rs` first refuses DTDs
//! (XXE), non-UTF-8 and nesting deeper than 100 (fhirbolt recurses per
//! element), and the narrative XHTML is carried around fhirbolt byte-exact
//! because fhirbolt trims its whitespace (`narrative.rs`). See README.md.
//!
//! Specs: <http://hl7.org/fhir/R4/xml.html> and <http://hl7.org/fhir/R4/json.html>

#![forbid(unsafe_code)]

mod convert;
mod narrative;
mod output;
mod scan;

/// Longest error detail kept, so a huge bogus element name or value from the
/// input is never echoed back in full.
const MAX_DETAIL: usize = 200;

/// Why a conversion failed.
#[derive(Debug, thiserror::Error)]
pub enum XmlError {
    /// The input is not well-formed XML/JSON, not UTF-8, or not a FHIR R4
    /// resource (unknown element, wrong type, ...): a client error.
    #[error("malformed FHIR input: {0}")]
    Malformed(String),
    /// Nesting deeper than 100 elements (XML) or objects/arrays (JSON).
    #[error("input nested deeper than {} levels", scan::MAX_DEPTH)]
    TooDeep,
    /// Valid input this converter cannot represent (e.g. a control character
    /// in a JSON string, which XML 1.0 cannot carry).
    #[error("unsupported FHIR content: {0}")]
    Unsupported(String),
    /// A conversion step failed on input that had been accepted: a bug.
    #[error("internal conversion error: {0}")]
    Internal(String),
}

impl XmlError {
    /// Human-readable description, bounded in length.
    pub fn message(&self) -> String {
        truncate(self.to_string())
    }

    fn malformed(e: impl std::fmt::Display) -> Self {
        XmlError::Malformed(truncate(e.to_string()))
    }

    fn internal(e: impl std::fmt::Display) -> Self {
        XmlError::Internal(truncate(e.to_string()))
    }
}

fn truncate(mut s: String) -> String {
    if s.len() > MAX_DETAIL {
        let mut cut = MAX_DETAIL;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("...");
    }
    s
}

/// FHIR XML (a single resource, e.g. `<Patient xmlns="http://hl7.org/fhir">`)
/// -> FHIR JSON text.
///
/// ```
/// let xml = br#"<Patient xmlns="http://hl7.org/fhir"><birthDate value="1970"/></Patient>"#;
/// let json = fhirgate_xml::xml_to_json(xml).unwrap();
/// assert_eq!(json, r#"{"resourceType":"Patient","birthDate":"1970"}"#);
/// let back = fhirgate_xml::json_to_xml(&json, false).unwrap();
/// assert!(back.ends_with(r#"<Patient xmlns="http://hl7.org/fhir"><birthDate value="1970"/></Patient>"#));
/// ```
pub fn xml_to_json(xml: &[u8]) -> Result<String, XmlError> {
    let text = std::str::from_utf8(xml)
        .map_err(|e| XmlError::Malformed(format!("not UTF-8 (at byte {})", e.valid_up_to())))?;
    // A UTF-8 byte order mark is legal in XML (https://www.w3.org/TR/xml/#charencoding).
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let prepared = scan::prepare_xml(text)?;
    let mut value = convert::xml_to_value(&prepared.xml)?;
    narrative::restore_json_divs(&mut value, &prepared.divs)?;
    serde_json::to_string(&value).map_err(XmlError::internal)
}

/// FHIR JSON text of a resource -> FHIR XML text. `pretty` indents.
pub fn json_to_xml(json: &str, pretty: bool) -> Result<String, XmlError> {
    output::check_json_depth(json)?;
    let mut value: serde_json::Value = serde_json::from_str(json).map_err(XmlError::malformed)?;
    if !value.is_object() {
        return Err(XmlError::Malformed(
            "expected a JSON object (a FHIR resource)".into(),
        ));
    }
    let divs = narrative::take_json_divs(&mut value)?;
    let text = serde_json::to_string(&value).map_err(XmlError::internal)?;
    let raw = convert::json_text_to_xml(&text)?;
    let tidy = output::tidy_xml(&raw, pretty)?;
    narrative::restore_xml_divs(&tidy, &divs)
}
