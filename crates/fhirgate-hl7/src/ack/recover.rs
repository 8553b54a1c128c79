//! A tolerant scan of a message the parser refused, so that its AR can
//! still echo MSH-10 in MSA-2 (2.9.2: MSA-2 "identifies the message being
//! acknowledged") and be addressed back to the sender (MSH-3/4).

use crate::charset::Charset;
use crate::escape;
use crate::header;
use crate::message::{Component, Field, Repetition, Separators};

/// The MSH fields that could be found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    pub separators: Separators,
    /// False when MSH-1/MSH-2 were not valid and defaults stand in.
    pub separators_ok: bool,
    /// Raw pieces of the MSH line split at the field separator: index `k`
    /// holds MSH-(k+1) for k >= 1 (index 0 is "MSH").
    pieces: Vec<String>,
}

/// Find an MSH anywhere near the start (after junk, a BOM, blank lines).
pub fn recover(raw: &[u8]) -> Option<Recovered> {
    let window = raw.get(..raw.len().min(64 * 1024)).unwrap_or_default();
    let at = window
        .windows(4)
        .position(|w| w.starts_with(b"MSH") && w.get(3).is_some_and(u8::is_ascii_punctuation))?;
    let line = header::first_line(raw.get(at..).unwrap_or_default());
    let (separators, separators_ok) = match header::separators(line) {
        Ok(s) => (s, true),
        Err(_) => {
            let fs = line.get(3).copied().map_or('|', char::from);
            (
                Separators {
                    field: fs,
                    ..Separators::default()
                },
                false,
            )
        }
    };
    let fs = line.get(3).copied().unwrap_or(b'|');
    let pieces = line
        .split(|&b| b == fs)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    Some(Recovered {
        separators,
        separators_ok,
        pieces,
    })
}

impl Recovered {
    /// MSH-n (n >= 2) as raw text, "" when absent.
    pub fn raw(&self, n: usize) -> &str {
        match n {
            0 | 1 => "",
            _ => self.pieces.get(n - 1).map_or("", String::as_str),
        }
    }

    /// MSH-n split and unescaped with the separators found (or defaults).
    pub fn field(&self, n: usize) -> Field {
        split_field(self.raw(n), &self.separators)
    }

    /// MSH-10, the control id MSA-2 must echo.
    pub fn control_id(&self) -> String {
        self.field(10).value().to_string()
    }
}

fn split_field(raw: &str, s: &Separators) -> Field {
    let leaf = |v: &str| escape::decode(v, s, Charset::Utf8).into_owned();
    Field {
        repetitions: raw
            .split(s.repetition)
            .map(|r| Repetition {
                components: r
                    .split(s.component)
                    .map(|c| Component {
                        subcomponents: c.split(s.subcomponent).map(leaf).collect(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// The id of segment (line) `n` (1-based, blank lines not counted, as in
/// [`crate::ParseError::BadSegment`]) and its sequence among same-id lines.
pub fn segment_at(raw: &[u8], n: usize) -> Option<(String, usize)> {
    let raw = header::trim_start(raw);
    let lines = header::segment_lines(raw, raw.get(3).copied().unwrap_or(b'|'));
    let id_of = |i: usize| {
        lines
            .get(i)
            .and_then(|l| raw.get(l.clone()))
            .map(|t| String::from_utf8_lossy(t.get(..3).unwrap_or(t)).into_owned())
    };
    let id = id_of(n.checked_sub(1)?)?;
    let sequence = (0..n)
        .filter(|&i| id_of(i).as_deref() == Some(id.as_str()))
        .count();
    Some((id, sequence.max(1)))
}
