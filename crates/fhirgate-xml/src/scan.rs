//! A small, non-recursive XML lexer used *before* any input reaches fhirbolt.
//!
//! Why: fhirbolt (via quick-xml 0.25) recurses once per element, so a deeply
//! nested document would overflow the stack; it also never sees the DTD rules we
//! want to enforce, and it trims whitespace inside the XHTML narrative. This lexer
//! only finds markup boundaries (`<...>`), keeps a stack of open element names
//! (bounded by [`MAX_DEPTH`]) and never allocates per element beyond that stack.

use crate::narrative::MARKER;
use crate::XmlError;

/// Deepest element nesting accepted (XML) / object+array nesting (JSON).
pub(crate) const MAX_DEPTH: usize = 100;

/// The namespace the narrative `div` must be in
/// (<http://hl7.org/fhir/R4/narrative.html#Narrative>).
pub(crate) const XHTML_NS: &str = "http://www.w3.org/1999/xhtml";

/// One piece of markup found by [`Lexer::next_markup`].
pub(crate) enum Kind<'a> {
    /// `<name ...>` or, when `empty`, `<name .../>`.
    Start {
        name: &'a str,
        attrs: &'a str,
        empty: bool,
    },
    /// `</name>`
    End { name: &'a str },
    /// `<!-- ... -->`
    Comment,
    /// `<? ... ?>` (the XML declaration included)
    Pi,
    /// `<![CDATA[ ... ]]>`
    Cdata,
    /// `<!DOCTYPE`, `<!ENTITY`, ...: the XXE vector.
    Dtd,
}

pub(crate) struct Markup<'a> {
    /// Text between the previous markup and this one.
    pub text_before: &'a str,
    /// Byte offset of the `<`.
    pub start: usize,
    /// Byte offset just after the closing `>`.
    pub end: usize,
    pub kind: Kind<'a>,
}

pub(crate) struct Lexer<'a> {
    s: &'a str,
    pos: usize,
}

pub(crate) fn malformed(msg: &str) -> XmlError {
    XmlError::Malformed(msg.to_owned())
}

fn is_name_end(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'/' | b'>')
}

/// XML 1.0 `Char` production (<https://www.w3.org/TR/xml/#charsets>).
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(s: &'a str) -> Self {
        Lexer { s, pos: 0 }
    }

    /// Text after the last markup returned.
    pub(crate) fn remaining(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or_default()
    }

    fn rest(&self, from: usize) -> Result<&'a str, XmlError> {
        self.s
            .get(from..)
            .ok_or_else(|| malformed("unexpected end of input"))
    }

    /// Offset just after the first `needle` at or after `from`.
    fn find_after(&self, from: usize, needle: &str, what: &str) -> Result<usize, XmlError> {
        match self.rest(from)?.find(needle) {
            Some(i) => Ok(from + i + needle.len()),
            None => Err(XmlError::Malformed(format!("unterminated {what}"))),
        }
    }

    /// The next markup, skipping text; `None` at end of input.
    pub(crate) fn next_markup(&mut self) -> Result<Option<Markup<'a>>, XmlError> {
        let Some(rel) = self.rest(self.pos)?.find('<') else {
            return Ok(None);
        };
        let start = self.pos + rel;
        let text_before = self.s.get(self.pos..start).unwrap_or_default();
        let after = self.rest(start + 1)?;
        let (end, kind) = if after.starts_with("!--") {
            (self.find_after(start + 4, "-->", "comment")?, Kind::Comment)
        } else if after.starts_with("![CDATA[") {
            (
                self.find_after(start + 9, "]]>", "CDATA section")?,
                Kind::Cdata,
            )
        } else if after.starts_with('!') {
            (start + 1, Kind::Dtd)
        } else if after.starts_with('?') {
            (
                self.find_after(start + 2, "?>", "processing instruction")?,
                Kind::Pi,
            )
        } else if let Some(end_tag) = after.strip_prefix('/') {
            let name_len = end_tag
                .bytes()
                .position(is_name_end)
                .unwrap_or(end_tag.len());
            let name = end_tag.get(..name_len).unwrap_or_default();
            let tail = end_tag.get(name_len..).unwrap_or_default();
            let trimmed = tail.trim_start_matches([' ', '\t', '\r', '\n']);
            if name.is_empty() || !trimmed.starts_with('>') {
                return Err(malformed("invalid end tag"));
            }
            let end = start + 2 + name_len + (tail.len() - trimmed.len()) + 1;
            (end, Kind::End { name })
        } else {
            self.start_tag(start, after)?
        };
        self.pos = end;
        Ok(Some(Markup {
            text_before,
            start,
            end,
            kind,
        }))
    }

    /// Parses `<name attrs>` / `<name attrs/>`, honouring quotes so a `>` inside
    /// an attribute value does not end the tag.
    fn start_tag(&self, start: usize, after: &'a str) -> Result<(usize, Kind<'a>), XmlError> {
        let name_len = after.bytes().position(is_name_end).unwrap_or(after.len());
        let name = after.get(..name_len).unwrap_or_default();
        if name.is_empty() {
            return Err(malformed("invalid start tag"));
        }
        let mut quote: Option<u8> = None;
        for (i, b) in after.bytes().enumerate().skip(name_len) {
            match (quote, b) {
                (Some(q), _) if q == b => quote = None,
                (Some(_), b'<') => return Err(malformed("'<' in attribute value")),
                (Some(_), _) => {}
                (None, b'"' | b'\'') => quote = Some(b),
                (None, b'<') => return Err(malformed("'<' inside a tag")),
                (None, b'>') => {
                    let inner = after.get(name_len..i).unwrap_or_default();
                    let (attrs, empty) = match inner.strip_suffix('/') {
                        Some(a) => (a, true),
                        None => (inner, false),
                    };
                    let kind = Kind::Start { name, attrs, empty };
                    return Ok((start + 1 + i + 1, kind));
                }
                (None, _) => {}
            }
        }
        Err(malformed("unterminated start tag"))
    }
}

/// Value of attribute `key` in the raw attribute text of a start tag.
pub(crate) fn attr_value<'a>(attrs: &'a str, key: &str) -> Option<&'a str> {
    let mut rest = attrs;
    loop {
        rest = rest.trim_start();
        let eq = rest.find('=')?;
        let name = rest.get(..eq)?.trim_end();
        let value_part = rest.get(eq + 1..)?.trim_start();
        let quote = value_part.chars().next()?;
        if quote != '"' && quote != '\'' {
            return None;
        }
        let body = value_part.get(1..)?;
        let close = body.find(quote)?;
        if name == key {
            return body.get(..close);
        }
        rest = body.get(close + 1..)?;
    }
}

fn local_name(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

/// `<?xml ...?>`, as opposed to another processing instruction like `<?xml-stylesheet`.
fn is_declaration(pi: &str) -> bool {
    pi.strip_prefix("<?xml")
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_whitespace()))
}

/// XML encoding names match case-insensitively
/// (<https://www.w3.org/TR/xml/#NT-EncodingDecl>), so `encoding="utf-8"` is
/// fine; fhirbolt 0.4 only accepts `UTF-8` and rejects `standalone="yes"`.
fn check_declaration(inner: &str) -> Result<(), XmlError> {
    if attr_value(inner, "version") != Some("1.0") {
        return Err(malformed("the XML declaration must say version=\"1.0\""));
    }
    match attr_value(inner, "encoding") {
        Some(enc) if !enc.eq_ignore_ascii_case("UTF-8") => Err(XmlError::Unsupported(
            "only the UTF-8 encoding is accepted".into(),
        )),
        _ => Ok(()),
    }
}

/// A FHIR XML document with every narrative `div` swapped for a marker.
pub(crate) struct Prepared {
    pub xml: String,
    /// Original narratives, byte-exact, indexed by marker number.
    pub divs: Vec<String>,
}

struct OpenDiv {
    start: usize,
    tag_end: usize,
    depth: usize,
}

/// Checks a whole FHIR XML document (depth, DTD, balance, characters) and cuts
/// the narrative `div`s out, so their XHTML reaches the JSON unchanged: fhirbolt
/// trims text around inline markup (`Hello <b>x</b>` became `Hello<b>x</b>`),
/// and in JSON the div is just the XHTML string
/// (<http://hl7.org/fhir/R4/json.html#xhtml>).
pub(crate) fn prepare_xml(s: &str) -> Result<Prepared, XmlError> {
    if let Some(c) = s.chars().find(|c| !is_xml_char(*c)) {
        let code = u32::from(c);
        return Err(XmlError::Malformed(format!(
            "character U+{code:04X} is not allowed in XML"
        )));
    }
    let mut lexer = Lexer::new(s);
    let mut stack: Vec<&str> = Vec::new();
    let mut open_div: Option<OpenDiv> = None;
    let mut out = String::with_capacity(s.len());
    let mut copied = 0;
    let mut divs = Vec::new();
    let mut root_seen = false;
    let stray = || malformed("content outside the root element");
    while let Some(m) = lexer.next_markup()? {
        // fhirbolt stops reading at the end of the root element and would
        // silently ignore whatever follows it.
        if stack.is_empty() && !m.text_before.trim().is_empty() {
            return Err(stray());
        }
        match m.kind {
            Kind::Dtd => return Err(malformed(
                "DOCTYPE and entity declarations are not allowed (http://hl7.org/fhir/R4/xml.html)",
            )),
            Kind::Cdata => return Err(malformed("CDATA sections are not allowed in FHIR XML")),
            Kind::Pi if !stack.is_empty() => {
                return Err(malformed("processing instructions are not allowed"))
            }
            Kind::Pi if is_declaration(s.get(m.start..m.end).unwrap_or_default()) => {
                if m.start != 0 {
                    return Err(malformed("the XML declaration must come first"));
                }
                check_declaration(s.get(m.start + 5..m.end - 2).unwrap_or_default())?;
                // Checked here and withheld from fhirbolt, which wants the
                // exact bytes `UTF-8` and `standalone="no"`.
                copied = m.end;
            }
            Kind::Pi | Kind::Comment => {}
            Kind::Start { name, empty, .. } => {
                if stack.is_empty() {
                    if root_seen {
                        return Err(stray());
                    }
                    root_seen = true;
                }
                if open_div.is_none() && local_name(name) == "div" && !empty {
                    if name.contains(':') {
                        return Err(XmlError::Unsupported(
                            "the narrative div must use the default XHTML namespace".into(),
                        ));
                    }
                    open_div = Some(OpenDiv {
                        start: m.start,
                        tag_end: m.end,
                        depth: stack.len() + 1,
                    });
                }
                if !empty {
                    stack.push(name);
                    if stack.len() > MAX_DEPTH {
                        return Err(XmlError::TooDeep);
                    }
                }
            }
            Kind::End { name } => {
                if stack.pop() != Some(name) {
                    return Err(malformed("end tag does not match the open element"));
                }
                if let Some(d) = open_div.as_ref().filter(|d| stack.len() < d.depth) {
                    let before = s.get(copied..d.start).unwrap_or_default();
                    let start_tag = s.get(d.start..d.tag_end).unwrap_or_default();
                    let raw = s.get(d.start..m.end).unwrap_or_default();
                    out.push_str(before);
                    out.push_str(start_tag);
                    out.push_str(MARKER);
                    out.push_str(&divs.len().to_string());
                    out.push_str("</div>");
                    divs.push(raw.to_owned());
                    copied = m.end;
                    open_div = None;
                }
            }
        }
    }
    if !stack.is_empty() || !root_seen {
        return Err(malformed("unclosed or missing root element"));
    }
    if !lexer.remaining().trim().is_empty() {
        return Err(stray());
    }
    out.push_str(s.get(copied..).unwrap_or_default());
    Ok(Prepared { xml: out, divs })
}
