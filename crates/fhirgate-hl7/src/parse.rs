//! Raw bytes -> [`Message`].
//!
//! SCAFFOLD: this first version only splits the structure of a UTF-8 message
//! with `\r` segment endings. The checked parser (hl7-parser for structure,
//! our own escape decoding, MSH-18 charsets, `\n`/`\r\n` endings, the v2.7
//! truncation character, header and segment-count checks, batches) replaces
//! the body of [`parse`] without changing its signature.

use crate::message::{Component, Field, Message, Repetition, Segment, Separators};

/// Why a message could not be parsed; each maps to an AR acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Not an HL7 v2 message: no MSH header where one must be.
    NotHl7(String),
    /// The header (MSH) is malformed: separators, required fields.
    BadHeader(String),
    /// The body is malformed (bad segment id, wrong segment count ...).
    BadSegment { segment: usize, reason: String },
    /// Bytes that are not valid in the declared character set.
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

/// Parse one message (not a batch).
pub fn parse(raw: &[u8]) -> Result<Message, ParseError> {
    let text = std::str::from_utf8(raw).map_err(|e| ParseError::Encoding(e.to_string()))?;
    let text = text.trim_start_matches('\u{feff}');
    let mut chars = text.chars();
    if !text.starts_with("MSH") {
        return Err(ParseError::NotHl7("does not start with MSH".into()));
    }
    let enc: Vec<char> = chars.by_ref().skip(3).take(5).collect();
    let (Some(&field), Some(&component), Some(&repetition), Some(&escape), Some(&subcomponent)) =
        (enc.first(), enc.get(1), enc.get(2), enc.get(3), enc.get(4))
    else {
        return Err(ParseError::BadHeader("MSH-1/MSH-2 too short".into()));
    };
    let seps = Separators {
        field,
        component,
        repetition,
        escape,
        subcomponent,
        truncation: None,
    };
    let mut segments = Vec::new();
    for line in text.split('\r').filter(|l| !l.is_empty()) {
        let mut parts = line.split(seps.field);
        let name = parts.next().unwrap_or_default().to_string();
        let mut fields = Vec::new();
        if name == "MSH" {
            fields.push(primitive(seps.field.to_string()));
            let mut rest = parts;
            fields.push(primitive(rest.next().unwrap_or_default().to_string()));
            fields.extend(rest.map(|f| split_field(f, &seps)));
        } else {
            fields.extend(parts.map(|f| split_field(f, &seps)));
        }
        segments.push(Segment { name, fields });
    }
    Ok(Message {
        separators: seps,
        segments,
    })
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

fn split_field(f: &str, s: &Separators) -> Field {
    Field {
        repetitions: f
            .split(s.repetition)
            .map(|r| Repetition {
                components: r
                    .split(s.component)
                    .map(|c| Component {
                        subcomponents: c.split(s.subcomponent).map(String::from).collect(),
                    })
                    .collect(),
            })
            .collect(),
    }
}
