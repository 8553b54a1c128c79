//! Replacing links in `Narrative.div`: a transaction "SHALL replace all matching
//! links in the bundle, whether they are found in ... <a href="" & <img src=""
//! in the narrative" (http://hl7.org/fhir/R4/http.html#trules). Only those two
//! attributes are touched, and only where their whole value is a link the
//! caller maps: a blind string replacement over the div would also change text,
//! titles and other attributes (FHIR R5 http.html says so outright: "it is
//! unsafe to simply perform a string replacement"). Tags are found by the same
//! lexer as the screen in `narrative.rs`, so what is rewritten is exactly what
//! the screen judged.

use crate::narrative::{attribute_spans, split_tag, tag_name};

/// `div` with the value of every `<a href>` and `<img src>` for which `map`
/// returns a replacement replaced by it. `map` gets the attribute's value with
/// its character references decoded and returns the new value unescaped (it is
/// escaped here). None when nothing changed, or when the div does not lex (the
/// narrative screen refuses such a div anyway).
pub fn rewrite_links(div: &str, map: &mut dyn FnMut(&str) -> Option<String>) -> Option<String> {
    let mut edits: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    let mut rest = div;
    while let Some(lt) = rest.find('<') {
        let after = rest.get(lt..)?;
        if let Some(comment) = after.strip_prefix("<!--") {
            rest = comment.get(comment.find("-->")? + 3..)?;
            continue;
        }
        if let Some(cdata) = after.strip_prefix("<![CDATA[") {
            rest = cdata.get(cdata.find("]]>")? + 3..)?;
            continue;
        }
        let (tag, remaining) = split_tag(after)?;
        // `tag` starts one byte after the `<` at `lt`.
        let tag_at = div.len() - rest.len() + lt + 1;
        rest = remaining;
        if tag.starts_with(['/', '!', '?']) {
            continue;
        }
        let name = tag_name(tag);
        let wanted = if name.eq_ignore_ascii_case("a") {
            "href"
        } else if name.eq_ignore_ascii_case("img") {
            "src"
        } else {
            continue;
        };
        let attrs_at = tag.find(char::is_whitespace).unwrap_or(tag.len());
        let attrs = tag.get(attrs_at..)?;
        for (name, span) in attribute_spans(attrs) {
            if !name.eq_ignore_ascii_case(wanted) {
                continue;
            }
            let Some(value) = attrs.get(span.clone()).and_then(decode) else {
                continue;
            };
            if let Some(new) = map(&value) {
                let start = tag_at + attrs_at + span.start;
                edits.push((start..start + span.len(), escape(&new)));
            }
        }
    }
    if edits.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(div.len());
    let mut done = 0;
    for (range, new) in edits {
        out.push_str(div.get(done..range.start)?);
        out.push_str(&new);
        done = range.end;
    }
    out.push_str(div.get(done..)?);
    Some(out)
}

/// The text of an attribute value: XML's five predefined entities and numeric
/// character references (https://www.w3.org/TR/xml/#sec-references). XHTML in
/// FHIR has no DTD, so any other named reference is not well-formed: None.
fn decode(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(rest.get(..amp)?);
        let after = rest.get(amp + 1..)?;
        let semi = after.find(';')?;
        let name = after.get(..semi)?;
        out.push(match name {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = match name.strip_prefix("#x") {
                    Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                    None => name.strip_prefix('#')?.parse().ok()?,
                };
                char::from_u32(code)?
            }
        });
        rest = after.get(semi + 1..)?;
    }
    out.push_str(rest);
    Some(out)
}

/// An attribute value safe inside either kind of quote.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const U: &str = "urn:uuid:1";

    fn map(v: &str) -> Option<String> {
        (v == U || v == "http://x.org/a?b&c").then(|| "http://h/fhir/Patient/9".to_owned())
    }

    #[test]
    fn replaces_whole_href_and_src_values_only() {
        let div = format!(
            "<div xmlns=\"http://www.w3.org/1999/xhtml\"><!-- <a href=\"{U}\"> --><p title=\"{U}\">{U} \
             <a href=\"{U}\">a</a><A HREF='{U}'>b</A><a href=\"{U}#f\">c</a><a name=\"{U}\">d</a>\
             <img alt=\"{U}\" src = \"{U}\"/><h:a xmlns:h=\"http://www.w3.org/1999/xhtml\" href=\"{U}\">e</h:a>\
             <a href=\"http://x.org/a?b&amp;c\">f</a><p src=\"{U}\">g</p></p></div>"
        );
        let got = rewrite_links(&div, &mut map).unwrap();
        let n = "http://h/fhir/Patient/9";
        let want = format!(
            "<div xmlns=\"http://www.w3.org/1999/xhtml\"><!-- <a href=\"{U}\"> --><p title=\"{U}\">{U} \
             <a href=\"{n}\">a</a><A HREF='{n}'>b</A><a href=\"{U}#f\">c</a><a name=\"{U}\">d</a>\
             <img alt=\"{U}\" src = \"{n}\"/><h:a xmlns:h=\"http://www.w3.org/1999/xhtml\" href=\"{n}\">e</h:a>\
             <a href=\"{n}\">f</a><p src=\"{U}\">g</p></p></div>"
        );
        assert_eq!(got, want);
        assert_eq!(crate::narrative::check(&got), None);
    }

    #[test]
    fn escapes_replacements_and_leaves_unmatched_divs_alone() {
        let div = format!("<div xmlns=\"http://www.w3.org/1999/xhtml\"><a href='{U}'>a</a></div>");
        let got = rewrite_links(&div, &mut |_| Some("x'\"<&".into())).unwrap();
        assert_eq!(
            got,
            "<div xmlns=\"http://www.w3.org/1999/xhtml\"><a href='x&apos;&quot;&lt;&amp;'>a</a></div>"
        );
        assert_eq!(rewrite_links(&div, &mut |_| None), None);
        assert_eq!(rewrite_links("<div><a href=\"x", &mut map), None);
        assert_eq!(decode("a&#x41;&#66;&lt;"), Some("aAB<".into()));
        assert_eq!(decode("&nbsp;"), None);
    }
}
