//! Raw bytes -> [`Message`]: the checked parser.
//!
//! hl7-parser 0.3 does the structural split, wrapped so that its defects
//! cannot reach callers (see the crate README):
//! 1. the UTF-8 BOM is stripped and the text transcoded from MSH-18 first
//!    ([`crate::charset`]): hl7-parser only takes UTF-8;
//! 2. segment endings are normalised to CR ourselves and the segments counted,
//!    then compared with hl7-parser's count: it silently stops at the first
//!    line it cannot read (a segment without fields, a bad segment id) and
//!    returns what it had;
//! 3. the v2.7 truncation character is removed from MSH-2 before handing the
//!    text over (hl7-parser reads exactly four encoding characters, so the
//!    fifth shifts every MSH field by one) and kept in `Separators::truncation`;
//! 4. escapes are decoded by [`crate::escape`], never by hl7-parser.

use crate::charset::Charset;
use crate::escape;
use crate::header;
use crate::message::{Component, Field, Message, Repetition, Segment, Separators};

/// Why a message could not be parsed; each maps to an AR acknowledgement
/// (see [`crate::ack::error_for`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Not an HL7 v2 message: no MSH header where one must be.
    NotHl7(String),
    /// The header (MSH) is malformed: separators, required fields.
    BadHeader(String),
    /// The body is malformed (bad segment id, wrong segment count ...).
    /// `segment` is the 1-based segment (line) number, MSH being 1.
    BadSegment { segment: usize, reason: String },
    /// Bytes that are not valid in the declared character set, or a
    /// character set (MSH-18) we do not support.
    Encoding(String),
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::NotHl7(r) => write!(f, "not an HL7 v2 message: {r}"),
            ParseError::BadHeader(r) => write!(f, "bad MSH header: {r}"),
            ParseError::BadSegment { segment, reason } => write!(f, "segment {segment}: {reason}"),
            ParseError::Encoding(r) => write!(f, "character encoding: {r}"),
        }
    }
}

impl std::error::Error for ParseError {}

/// Segment ids that open or close a message, batch or file (2.10.3): inside
/// one message they mean several messages were glued together.
const ENVELOPE: [&str; 5] = ["MSH", "FHS", "BHS", "BTS", "FTS"];

/// Parse one message (not a batch: see [`crate::batch::split_batch`]).
pub fn parse(raw: &[u8]) -> Result<Message, ParseError> {
    let raw = header::trim_start(raw);
    let line = header::first_line(raw);
    if !line.starts_with(b"MSH") {
        let what = if line.starts_with(b"FHS") || line.starts_with(b"BHS") {
            "a batch or file (FHS/BHS, 2.10.3): split it with split_batch first"
        } else {
            "the first segment must be MSH (2.5.2)"
        };
        return Err(ParseError::NotHl7(what.into()));
    }
    // The MSH line as normalise() will cut it: an LF followed by data is not
    // its end, so MSH-2 and MSH-18 must be read from the same line.
    let fs = line.get(3).copied().unwrap_or(b'|');
    let first = header::segment_lines(raw, fs).into_iter().next();
    let msh_line = first.and_then(|r| raw.get(r)).unwrap_or_default();
    let seps = header::separators(msh_line)?;
    let msh18 = header::raw_field(msh_line, fs, 18);
    let charset = Charset::from_code(&header::first_value(msh18, &seps))?;
    let text = charset.decode(raw)?;
    let (norm, count) = normalise(&text, &seps, fs)?;

    let parsed = hl7_parser::Message::parse_with_lenient_newlines(&norm, true).map_err(|e| {
        let at = match &e {
            hl7_parser::parser::ParseError::FailedToParse { position, .. } => *position,
            hl7_parser::parser::ParseError::IncompleteInput(_) => norm.len(),
        };
        let segment = 1 + norm.get(..at).map_or(0, |s| s.matches('\r').count());
        // Not `{e}`: hl7-parser's error quotes the text at the failure, which is
        // patient data, and this reason reaches ERR-8 and may reach a log.
        ParseError::BadSegment {
            segment,
            reason: format!("structure not parsable at character {at}"),
        }
    })?;
    if parsed.segments.len() != count {
        return Err(ParseError::BadSegment {
            segment: parsed.segments.len() + 1,
            reason: format!(
                "{count} segments in the message but only {} could be read",
                parsed.segments.len()
            ),
        });
    }

    let mut segments = Vec::with_capacity(count);
    for (i, s) in parsed.segments.iter().enumerate() {
        let mut fields = Vec::with_capacity(s.fields.len());
        let body = if i == 0 {
            // MSH-1 and MSH-2 are the delimiters, not data (2.14.9.1/2): no
            // splitting, no unescaping, and MSH-2 as the sender wrote it.
            let mut enc: String = [
                seps.component,
                seps.repetition,
                seps.escape,
                seps.subcomponent,
            ]
            .into_iter()
            .collect();
            enc.extend(seps.truncation);
            fields.push(primitive(seps.field.to_string()));
            fields.push(primitive(enc));
            s.fields.get(2..).unwrap_or_default()
        } else {
            &s.fields[..]
        };
        fields.extend(body.iter().map(|f| convert(f, &seps, charset)));
        segments.push(Segment {
            name: s.name.to_string(),
            fields,
        });
    }
    let message = Message {
        separators: seps,
        segments,
    };
    check_required(&message)?;
    Ok(message)
}

/// MSH-9, MSH-10 and MSH-12 are required in every version (MSH field
/// definitions, 2.14.9.9/10/12 in v2.7 numbering): without them a message
/// cannot be routed, acknowledged (MSA-2 echoes MSH-10) or interpreted.
fn check_required(m: &Message) -> Result<(), ParseError> {
    let Some(msh) = m.msh() else {
        return Err(ParseError::NotHl7("no MSH segment".into()));
    };
    for (n, what) in [
        (9, "message type"),
        (10, "message control id"),
        (12, "version id"),
    ] {
        if msh.get(n, 1).trim().is_empty() {
            return Err(ParseError::BadHeader(format!(
                "MSH-{n} ({what}) is required but empty"
            )));
        }
    }
    Ok(())
}

/// Split into segments ([`header::segment_lines`]), check each id, and join
/// them with CR for hl7-parser. Returns the text and our own segment count.
/// An LF that is data is handed over as `\X0A\`, so that hl7-parser's
/// lenient mode does not cut the segment there; our decoder turns it back.
fn normalise(text: &str, seps: &Separators, fs: u8) -> Result<(String, usize), ParseError> {
    let mut out = String::with_capacity(text.len() + 16);
    let mut n = 0;
    let lf_escape = format!("{0}X0A{0}", seps.escape);
    for range in header::segment_lines(text.as_bytes(), fs) {
        let line = text.get(range).unwrap_or_default();
        n += 1;
        let id =
            header::segment_id(line.as_bytes(), fs).and_then(|id| std::str::from_utf8(id).ok());
        let id = id.ok_or_else(|| ParseError::BadSegment {
            segment: n,
            reason:
                "a segment id is 3 upper-case letters or digits, then the field separator (2.5.2)"
                    .into(),
        })?;
        if n > 1 {
            out.push('\r');
            if ENVELOPE.contains(&id) {
                return Err(ParseError::BadSegment {
                    segment: n,
                    reason: format!("{id} inside a message: several messages or a batch (2.10.3)"),
                });
            }
        }
        let line = match (n, seps.truncation) {
            // "MSH" + MSH-1 + 4 encoding characters, then the truncation
            // character (all ASCII, checked by header::separators) to drop.
            (1, Some(_)) => {
                out.push_str(line.get(..8).unwrap_or_default());
                line.get(9..).unwrap_or_default()
            }
            _ => line,
        };
        push_replacing_lf(&mut out, line, &lf_escape);
        if line.len() == 3 {
            // A segment whose fields are all empty may be just its id (2.5.3:
            // trailing empty fields can be left out); hl7-parser wants at
            // least one field separator.
            out.push(seps.field);
        }
    }
    if n == 0 {
        return Err(ParseError::NotHl7("no segments".into()));
    }
    Ok((out, n))
}

fn push_replacing_lf(out: &mut String, line: &str, lf_escape: &str) {
    let mut parts = line.split('\n');
    out.push_str(parts.next().unwrap_or_default());
    for p in parts {
        out.push_str(lf_escape);
        out.push_str(p);
    }
}

fn primitive(v: String) -> Field {
    Field {
        repetitions: vec![Repetition {
            components: vec![Component {
                subcomponents: vec![v],
            }],
        }],
    }
}

/// hl7-parser's field -> ours, every leaf unescaped. An empty field becomes
/// a field without repetitions and an empty component one without
/// subcomponents: the same to every accessor (absent and empty are both "not
/// valued", 2.5.3), and no allocation for the many empty fields of a message.
fn convert(f: &hl7_parser::message::Field<'_>, seps: &Separators, cs: Charset) -> Field {
    if f.raw_value().is_empty() {
        return Field::default();
    }
    Field {
        repetitions: f
            .repeats
            .iter()
            .map(|r| Repetition {
                components: r
                    .components
                    .iter()
                    .map(|c| {
                        if c.raw_value().is_empty() {
                            return Component::default();
                        }
                        Component {
                            subcomponents: c
                                .subcomponents
                                .iter()
                                .map(|s| escape::decode(s.value, seps, cs).into_owned())
                                .collect(),
                        }
                    })
                    .collect(),
            })
            .collect(),
    }
}
