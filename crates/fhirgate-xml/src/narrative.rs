//! Keeps narrative XHTML (`text.div`) byte-exact across the conversion.
//!
//! fhirbolt 0.4 re-parses the XHTML with whitespace trimming and re-indents it,
//! so `<p>Hello <b>World</b></p>` would come out as `<p>Hello<b>World</b></p>`.
//! Each div is therefore swapped for a whitespace-free marker before fhirbolt
//! runs and pasted back afterwards. In JSON the div is a plain string holding
//! the XHTML (<http://hl7.org/fhir/R4/json.html#xhtml>); in XML it is the element
//! itself (<http://hl7.org/fhir/R4/xml.html#xhtml>).

use serde_json::Value;

use crate::scan::{attr_value, is_xml_char, malformed, Kind, Lexer, MAX_DEPTH, XHTML_NS};
use crate::XmlError;

/// JSON -> XML: replaces every `"div": "<div ...>"` string with a marker and
/// returns the originals (checked to be well-formed XHTML).
pub(crate) fn take_json_divs(value: &mut Value) -> Result<Vec<String>, XmlError> {
    let mut divs = Vec::new();
    take_from(value, &mut divs)?;
    Ok(divs)
}

// Recursion is bounded: the JSON text was checked against MAX_DEPTH first.
fn take_from(value: &mut Value, divs: &mut Vec<String>) -> Result<(), XmlError> {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                match child {
                    Value::String(s) if key == "div" => {
                        check_div(s)?;
                        let original = std::mem::replace(s, div_marker(divs.len()));
                        divs.push(original);
                    }
                    _ => take_from(child, divs)?,
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                take_from(item, divs)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// XML -> JSON: puts the original divs back in place of the markers that
/// fhirbolt copied into its JSON output.
pub(crate) fn restore_json_divs(value: &mut Value, divs: &[String]) -> Result<(), XmlError> {
    let mut used = vec![false; divs.len()];
    restore_in(value, divs, &mut used)?;
    if used.iter().all(|u| *u) {
        Ok(())
    } else {
        Err(XmlError::Internal(
            "a narrative was lost in conversion".into(),
        ))
    }
}

fn restore_in(value: &mut Value, divs: &[String], used: &mut [bool]) -> Result<(), XmlError> {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                match child {
                    Value::String(s) if key == "div" => {
                        if let Some(n) = marker_index(s) {
                            let (Some(div), Some(flag)) = (divs.get(n), used.get_mut(n)) else {
                                return Err(XmlError::Internal("unknown narrative marker".into()));
                            };
                            *s = div.clone();
                            *flag = true;
                        }
                    }
                    _ => restore_in(child, divs, used)?,
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                restore_in(item, divs, used)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// `Some(n)` if `s` is exactly `div_marker(n)`.
fn marker_index(s: &str) -> Option<usize> {
    let open = format!("<div xmlns=\"{XHTML_NS}\">{MARKER}");
    let digits = s.strip_prefix(open.as_str())?.strip_suffix("</div>")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// JSON -> XML: replaces each marker element in fhirbolt's XML output with the
/// original XHTML. fhirbolt escapes `<` in attribute values and writes no other
/// text, so a marker cannot be forged by resource content.
pub(crate) fn restore_xml_divs(xml: &str, divs: &[String]) -> Result<String, XmlError> {
    let open = format!("<div xmlns=\"{XHTML_NS}\">{MARKER}");
    let extra: usize = divs.iter().map(String::len).sum();
    let mut out = String::with_capacity(xml.len() + extra);
    let mut used = vec![false; divs.len()];
    let mut rest = xml;
    while let Some(i) = rest.find(open.as_str()) {
        let (before, from_marker) = rest.split_at(i);
        out.push_str(before);
        let after_open = from_marker.get(open.len()..).unwrap_or_default();
        let digits_len = after_open
            .bytes()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(after_open.len());
        let n: Option<usize> = after_open.get(..digits_len).and_then(|d| d.parse().ok());
        let tail = after_open.get(digits_len..).unwrap_or_default();
        let (Some(n), Some(tail)) = (n, tail.strip_prefix("</div>")) else {
            return Err(XmlError::Internal("damaged narrative marker".into()));
        };
        let (Some(div), Some(flag)) = (divs.get(n), used.get_mut(n)) else {
            return Err(XmlError::Internal("unknown narrative marker".into()));
        };
        out.push_str(div);
        *flag = true;
        rest = tail;
    }
    out.push_str(rest);
    if used.iter().all(|u| *u) {
        Ok(out)
    } else {
        Err(XmlError::Internal(
            "a narrative was lost in conversion".into(),
        ))
    }
}

/// The marker that stands in for narrative number `n` while fhirbolt converts.
pub(crate) fn div_marker(n: usize) -> String {
    format!("<div xmlns=\"{XHTML_NS}\">{MARKER}{n}</div>")
}

/// Text inside a placeholder `div`; contains no whitespace, so fhirbolt's
/// whitespace trimming and indentation cannot alter it.
pub(crate) const MARKER: &str = "fhirgate-narrative-";

/// Checks that a JSON narrative string is one well-formed XHTML `div` element
/// in the XHTML namespace, so it can be pasted into XML output verbatim.
pub(crate) fn check_div(div: &str) -> Result<(), XmlError> {
    if let Some(c) = div.chars().find(|c| !is_xml_char(*c)) {
        let code = u32::from(c);
        return Err(XmlError::Malformed(format!(
            "narrative contains U+{code:04X}, which XML cannot represent"
        )));
    }
    let bad = || {
        malformed(
            "narrative div must be a single <div xmlns=\"http://www.w3.org/1999/xhtml\"> element",
        )
    };
    let mut lexer = Lexer::new(div);
    let mut stack: Vec<&str> = Vec::new();
    while let Some(m) = lexer.next_markup()? {
        match m.kind {
            Kind::Start { name, attrs, empty } if stack.is_empty() => {
                // The root: must open the string and carry the XHTML namespace.
                if m.start != 0 || name != "div" || attr_value(attrs, "xmlns") != Some(XHTML_NS) {
                    return Err(bad());
                }
                if empty {
                    return if m.end == div.len() {
                        Ok(())
                    } else {
                        Err(bad())
                    };
                }
                stack.push(name);
            }
            _ if stack.is_empty() => return Err(bad()),
            Kind::Dtd => return Err(malformed("DOCTYPE not allowed in narrative")),
            Kind::Cdata | Kind::Pi => return Err(malformed("CDATA/PI not allowed in narrative")),
            Kind::Comment | Kind::Start { empty: true, .. } => {}
            Kind::Start { name, .. } => {
                stack.push(name);
                if stack.len() > MAX_DEPTH {
                    return Err(XmlError::TooDeep);
                }
            }
            Kind::End { name } => {
                if stack.pop() != Some(name) {
                    return Err(malformed(
                        "narrative end tag does not match the open element",
                    ));
                }
                if stack.is_empty() {
                    return if m.end == div.len() {
                        Ok(())
                    } else {
                        Err(bad())
                    };
                }
            }
        }
    }
    Err(bad())
}
