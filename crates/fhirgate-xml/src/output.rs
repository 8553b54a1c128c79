//! Cheap byte-level passes around fhirbolt: a JSON depth guard and the final
//! touch-up of fhirbolt's XML output.

use crate::scan::{is_xml_char, MAX_DEPTH};
use crate::XmlError;

/// Refuses JSON nested deeper than [`MAX_DEPTH`] objects/arrays without
/// parsing it, so neither serde_json nor fhirbolt recurses that far.
pub(crate) fn check_json_depth(json: &str) -> Result<(), XmlError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for b in json.bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(XmlError::TooDeep);
                }
            }
            // Unbalanced input is left for serde_json to report.
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Post-processes fhirbolt's XML (which is always indented and contains only
/// tags, attributes and narrative markers):
/// - escapes TAB/CR/LF inside attribute values as character references;
///   fhirbolt writes them raw, and XML attribute-value normalisation would
///   turn them into spaces in any conforming reader
///   (<https://www.w3.org/TR/xml/#AVNormalize>), losing e.g. line breaks in
///   `Annotation.text` (strings travel in `value` attributes,
///   <http://hl7.org/fhir/R4/xml.html>);
/// - drops the indentation between tags when `pretty` is false (FHIR XML has no
///   mixed content outside the narrative, which is still a marker here);
/// - refuses characters XML 1.0 cannot carry (JSON can, e.g. "\u0001").
pub(crate) fn tidy_xml(raw: &str, pretty: bool) -> Result<String, XmlError> {
    let mut out = String::with_capacity(raw.len());
    let mut in_tag = false;
    let mut quote: Option<char> = None;
    for c in raw.chars() {
        if !is_xml_char(c) {
            let code = u32::from(c);
            return Err(XmlError::Unsupported(format!(
                "character U+{code:04X} cannot be represented in XML"
            )));
        }
        match quote {
            Some(q) if c == q => {
                quote = None;
                out.push(c);
            }
            Some(_) => match c {
                '\n' => out.push_str("&#10;"),
                '\r' => out.push_str("&#13;"),
                '\t' => out.push_str("&#9;"),
                _ => out.push(c),
            },
            None if in_tag => {
                match c {
                    '"' | '\'' => quote = Some(c),
                    '>' => in_tag = false,
                    _ => {}
                }
                out.push(c);
            }
            None => {
                if c == '<' {
                    in_tag = true;
                }
                if pretty || !c.is_ascii_whitespace() {
                    out.push(c);
                }
            }
        }
    }
    if pretty && !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}
