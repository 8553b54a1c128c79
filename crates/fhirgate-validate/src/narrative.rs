//! A basic screen of `Narrative.div` (http://hl7.org/fhir/R4/narrative.html#xhtml).
//!
//! The R4 JSON Schema leaves `xhtml` completely unconstrained, yet the narrative is what other
//! systems render to clinicians, so active content in it is an injection vector. This is not a
//! full XHTML parser; it enforces the rules that are cheap to check lexically:
//! - the content is a `div` element in the XHTML namespace (narrative.html: "The XHTML is
//!   contained in a div element ... with the XHTML namespace");
//! - no elements the spec forbids: "head, body, external stylesheet references, deprecated
//!   elements, scripts, forms, base/link/xlink, frames, iframes, objects or event related
//!   attributes (e.g. onClick)" (also `javascript:` URLs, which are scripts);
//! - txt-2: "The narrative SHALL have some non-whitespace content" (text or an image).

use std::ops::Range;

/// Elements narrative.html forbids (scripts, forms, frames, objects, head/body, base/link and
/// the HTML 4 deprecated elements).
const FORBIDDEN: &[&str] = &[
    "applet", "base", "basefont", "body", "button", "center", "dir", "embed", "font", "form",
    "frame", "frameset", "head", "html", "iframe", "input", "isindex", "link", "menu", "meta",
    "noscript", "object", "option", "param", "s", "script", "select", "strike", "style",
    "textarea", "title", "u",
];

/// Attributes whose value is a URL a browser may follow or load.
const URL_ATTRIBUTES: &[&str] = &[
    "href",
    "src",
    "action",
    "formaction",
    "background",
    "cite",
    "longdesc",
    "usemap",
    "data",
    "poster",
];

const XHTML_NS: &str = "http://www.w3.org/1999/xhtml";

/// `None` if the div passes; otherwise why not (fixed text, never client data).
pub fn check(div: &str) -> Option<&'static str> {
    let trimmed = div.trim();
    if !trimmed.starts_with("<div") || !trimmed.ends_with('>') {
        return Some("Narrative.div must be a single XHTML <div> element (http://hl7.org/fhir/R4/narrative.html#xhtml)");
    }
    if !trimmed.ends_with("</div>") {
        return Some(
            "Narrative.div must end with </div> (http://hl7.org/fhir/R4/narrative.html#xhtml)",
        );
    }
    let mut rest = trimmed;
    let mut first = true;
    let mut has_content = false;
    while let Some(lt) = rest.find('<') {
        let text = rest.get(..lt).unwrap_or("");
        has_content |= !text.trim().is_empty();
        let after = rest.get(lt..).unwrap_or("");
        if let Some(comment) = after.strip_prefix("<!--") {
            rest = match comment.find("-->") {
                Some(end) => comment.get(end + 3..).unwrap_or(""),
                None => return Some("Narrative.div has an unterminated comment"),
            };
            continue;
        }
        if let Some(cdata) = after.strip_prefix("<![CDATA[") {
            let Some(end) = cdata.find("]]>") else {
                return Some("Narrative.div has an unterminated CDATA section");
            };
            has_content |= !cdata.get(..end).unwrap_or("").trim().is_empty();
            rest = cdata.get(end + 3..).unwrap_or("");
            continue;
        }
        if after.starts_with("<!") || after.starts_with("<?") {
            return Some("Narrative.div must not contain declarations or processing instructions (http://hl7.org/fhir/R4/narrative.html#xhtml)");
        }
        let Some((tag, remaining)) = split_tag(after) else {
            return Some("Narrative.div is not well-formed XHTML (unterminated tag)");
        };
        if let Some(problem) = check_tag(tag, first) {
            return Some(problem);
        }
        if tag_name(tag).eq_ignore_ascii_case("img") {
            has_content = true;
        }
        first = false;
        rest = remaining;
    }
    has_content |= !rest.trim().is_empty();
    if !has_content {
        return Some("Narrative.div SHALL have some non-whitespace content (txt-2, http://hl7.org/fhir/R4/narrative.html)");
    }
    None
}

/// Splits `<...>` (quotes may contain `>`) from what follows it.
pub(crate) fn split_tag(s: &str) -> Option<(&str, &str)> {
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return Some((s.get(1..i)?, s.get(i + 1..)?)),
            _ => {}
        }
    }
    None
}

pub(crate) fn tag_name(tag: &str) -> &str {
    let tag = tag.strip_prefix('/').unwrap_or(tag);
    let end = tag
        .find(|c: char| c.is_whitespace() || c == '/')
        .unwrap_or(tag.len());
    let name = tag.get(..end).unwrap_or("");
    // A prefixed name (`h:script`): judge the local part.
    name.rsplit(':').next().unwrap_or(name)
}

fn check_tag(tag: &str, first: bool) -> Option<&'static str> {
    let name = tag_name(tag);
    if FORBIDDEN.iter().any(|f| f.eq_ignore_ascii_case(name)) {
        return Some("Narrative.div contains an element that FHIR narrative forbids (script, form, frame, object, head/body, base/link, style or a deprecated element; http://hl7.org/fhir/R4/narrative.html#xhtml)");
    }
    if tag.starts_with('/') {
        return None;
    }
    let attrs = tag.get(tag.find(char::is_whitespace).unwrap_or(tag.len())..)?;
    let mut has_ns = false;
    for (attr, value) in attributes(attrs) {
        let lower = attr.to_ascii_lowercase();
        if lower.starts_with("on") || lower.starts_with("xlink:") {
            return Some("Narrative.div contains an event or xlink attribute, which FHIR narrative forbids (http://hl7.org/fhir/R4/narrative.html#xhtml)");
        }
        if URL_ATTRIBUTES.contains(&lower.as_str()) && is_script_url(value) {
            return Some("Narrative.div contains a script URL; scripts are forbidden in FHIR narrative (http://hl7.org/fhir/R4/narrative.html#xhtml)");
        }
        has_ns |= lower == "xmlns" && value == XHTML_NS;
    }
    if first && !has_ns {
        return Some("Narrative.div must declare the XHTML namespace xmlns=\"http://www.w3.org/1999/xhtml\" (http://hl7.org/fhir/R4/json.html#xhtml)");
    }
    None
}

/// Does this URL use a script scheme? Browsers ignore whitespace and control characters inside
/// the scheme and decode character references first (`java&#10;script:`), so we do the same
/// on the first characters.
fn is_script_url(value: &str) -> bool {
    let mut scheme = String::new();
    let mut rest = value;
    while scheme.len() <= 16 {
        let Some(c) = rest.chars().next() else { break };
        rest = rest.get(c.len_utf8()..).unwrap_or("");
        let decoded = if c == '&' {
            let (ch, after) = decode_reference(rest);
            rest = after;
            ch
        } else {
            Some(c)
        };
        match decoded {
            Some(':') => return scheme == "javascript" || scheme == "vbscript",
            Some(c) if c.is_whitespace() || c.is_control() => {}
            Some(c) if c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.') => {
                scheme.push(c.to_ascii_lowercase());
            }
            // Not a scheme character: this is a relative URL or plain text.
            _ => return false,
        }
    }
    false
}

/// Decodes one character reference after `&` (`#10;`, `#x0A`, `colon;`, `Tab;`, `NewLine;`;
/// HTML tolerates a missing `;`). Unknown named references decode to `None`.
fn decode_reference(s: &str) -> (Option<char>, &str) {
    let end = s
        .find(|c: char| !c.is_ascii_alphanumeric() && c != '#')
        .unwrap_or(s.len());
    let name = s.get(..end).unwrap_or("");
    let after = s.get(end..).unwrap_or("");
    let after = after.strip_prefix(';').unwrap_or(after);
    let ch = if let Some(num) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
        u32::from_str_radix(num, 16).ok().and_then(char::from_u32)
    } else if let Some(num) = name.strip_prefix('#') {
        num.parse().ok().and_then(char::from_u32)
    } else {
        match name {
            "colon" => Some(':'),
            "Tab" => Some('\t'),
            "NewLine" => Some('\n'),
            "amp" => Some('&'),
            _ => None,
        }
    };
    (ch, after)
}

/// `name="value"` / `name='value'` pairs; a bare `name` yields an empty value.
fn attributes(s: &str) -> impl Iterator<Item = (&str, &str)> {
    attribute_spans(s).map(move |(name, value)| (name, s.get(value).unwrap_or("")))
}

/// [`attributes`] with where each value lies in `whole` (a byte range, inside
/// the quotes), so that a value can be replaced exactly where this lexer,
/// the one the screen above uses, found it (`narrative_links.rs`).
pub(crate) fn attribute_spans(whole: &str) -> impl Iterator<Item = (&str, Range<usize>)> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let rest = whole.get(at..)?;
        let s = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
        at += rest.len() - s.len();
        if s.is_empty() {
            return None;
        }
        let name_end = s
            .find(|c: char| c.is_whitespace() || c == '=' || c == '/')
            .unwrap_or(s.len());
        let name = s.get(..name_end)?;
        let after_name = s.get(name_end..)?;
        let t = after_name.trim_start();
        at += name_end + (after_name.len() - t.len());
        let Some(after_eq) = t.strip_prefix('=') else {
            return Some((name, at..at));
        };
        let value = after_eq.trim_start();
        at += 1 + (after_eq.len() - value.len());
        let quote = value.chars().next()?;
        if quote == '"' || quote == '\'' {
            let end = value.get(1..)?.find(quote)?;
            let start = at + 1;
            at = start + end + 1;
            Some((name, start..start + end))
        } else {
            let end = value.find(char::is_whitespace).unwrap_or(value.len());
            let start = at;
            at += end;
            Some((name, start..start + end))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"<div xmlns="http://www.w3.org/1999/xhtml"><p title='a > b'>Hi <a href="http://x.org">x</a></p><!-- c --></div>"#;

    #[test]
    fn accepts_plain_narrative() {
        assert_eq!(check(OK), None);
        assert_eq!(
            check(r#"<div xmlns='http://www.w3.org/1999/xhtml'><img src="a.png"/></div>"#),
            None
        );
        assert_eq!(
            check(
                r#"<div xmlns="http://www.w3.org/1999/xhtml"><a href="?q=a&b=c">x</a><a href="http://x.org/?a=1&amp;b=2" title="Tom &amp; Jerry: javascript:">y</a></div>"#
            ),
            None
        );
    }

    #[test]
    fn refuses_active_content_case_insensitively() {
        for bad in [
            r#"<div xmlns="http://www.w3.org/1999/xhtml"><SCRIPT>x</SCRIPT></div>"#,
            r#"<div xmlns="http://www.w3.org/1999/xhtml"><h:script xmlns:h="http://www.w3.org/1999/xhtml">x</h:script></div>"#,
            r#"<div xmlns="http://www.w3.org/1999/xhtml"><p OnMouseOver="x">x</p></div>"#,
            r#"<div xmlns="http://www.w3.org/1999/xhtml"><a href="java&#10;script:x">x</a><a href=" javascript:x">y</a></div>"#,
            r#"<div xmlns="http://www.w3.org/1999/xhtml"><object data="x">x</object></div>"#,
            r#"<div xmlns="http://www.w3.org/1999/xhtml"><p>x</p><?php x ?></div>"#,
        ] {
            assert!(check(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn refuses_malformed_or_empty_divs() {
        for bad in [
            "",
            "x",
            "<div>x</div>",
            "<div xmlns=\"http://www.w3.org/1999/xhtml\"></div>",
            "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p x=\"></div>",
        ] {
            assert!(check(bad).is_some(), "{bad}");
        }
    }
}
