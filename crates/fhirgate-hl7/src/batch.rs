//! The HL7 batch protocol (HL7 v2.5.1 section 2.10.3, "HL7 batch protocol";
//! FHS/FTS/BHS/BTS segment definitions in 2.15):
//!
//! ```text
//! [FHS]                (file header)
//! { [BHS]              (batch header)
//!   { [MSH ... ] }     (zero or more HL7 messages)
//!   [BTS] }            (batch trailer, BTS-1 batch message count)
//! [FTS]                (file trailer, FTS-1 file batch count)
//! ```
//!
//! Splitting works on raw bytes, so that each message keeps the exact bytes
//! it was sent with (they are stored raw) and its own MSH-18 charset: segment
//! terminators are ASCII and never occur inside a character of the
//! ASCII-compatible charsets we accept. Messages are not parsed here: each
//! goes through [`crate::parse`] on its own, so one bad message does not
//! sink its batch.
//!
//! Stricter than the grammar on one point, on purpose: a header without its
//! trailer (FHS without FTS, BHS without BTS) is refused, as is a trailer
//! without its header, because a missing trailer is what a truncated
//! transfer looks like. Counts are checked when BTS-1 / FTS-1 are valued.

use crate::header;
use crate::parse::ParseError;

/// A file or batch (or a plain message, passed through as one batch of one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    /// The FHS segment line, raw, when the input is a file.
    pub file_header: Option<Vec<u8>>,
    /// The FTS segment line, raw.
    pub file_trailer: Option<Vec<u8>>,
    pub batches: Vec<SubBatch>,
}

/// One BHS ... BTS batch, or the messages not inside one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubBatch {
    /// The BHS segment line, raw.
    pub header: Option<Vec<u8>>,
    /// The BTS segment line, raw.
    pub trailer: Option<Vec<u8>>,
    /// Each message's raw bytes, from its MSH to the end of its last
    /// segment's terminator.
    pub messages: Vec<Vec<u8>>,
}

impl Batch {
    /// Every message, in order, across batches.
    pub fn messages(&self) -> impl Iterator<Item = &[u8]> {
        self.batches
            .iter()
            .flat_map(|b| b.messages.iter().map(Vec::as_slice))
    }

    pub fn message_count(&self) -> usize {
        self.batches.iter().map(|b| b.messages.len()).sum()
    }

    /// True when the input had a batch or file envelope (FHS or BHS).
    pub fn is_envelope(&self) -> bool {
        self.file_header.is_some() || self.batches.iter().any(|b| b.header.is_some())
    }
}

/// Split into batches and messages. A plain message (or several MSH-started
/// messages with no envelope) comes back as one [`SubBatch`] without header.
pub fn split_batch(raw: &[u8]) -> Result<Batch, ParseError> {
    let raw = header::trim_start(raw);
    // MSH, BHS and FHS all have their field separator at byte 3.
    let fs = raw.get(3).copied().unwrap_or(b'|');
    let lines = header::segment_lines(raw, fs);
    let first = lines
        .first()
        .and_then(|l| raw.get(l.clone()))
        .unwrap_or_default();
    if first.starts_with(b"FHS") || first.starts_with(b"BHS") {
        header::separators(first)?;
    } else if !first.starts_with(b"MSH") {
        return Err(ParseError::NotHl7(
            "a message starts with MSH, a batch with BHS, a file with FHS (2.10.3)".into(),
        ));
    }
    let bad = |n: usize, reason: String| Err(ParseError::BadSegment { segment: n, reason });

    let mut out = Batch::default();
    let mut open_msg: Option<usize> = None; // start offset of the message being read
    let mut bhs_count = 0usize;
    for (i, l) in lines.iter().enumerate() {
        let n = i + 1;
        let text = raw.get(l.clone()).unwrap_or_default();
        let id = text.get(..3).unwrap_or_default();
        if out.file_trailer.is_some() {
            return bad(n, "segment after FTS, the end of the file".into());
        }
        let envelope = matches!(id, b"FHS" | b"BHS" | b"BTS" | b"FTS" | b"MSH");
        if envelope {
            if let Some(start) = open_msg.take() {
                let msg = raw.get(start..l.start).unwrap_or_default().to_vec();
                push_message(&mut out, msg);
            }
        }
        match id {
            b"FHS" if n == 1 => out.file_header = Some(text.to_vec()),
            b"FHS" => return bad(n, "FHS must be the first segment".into()),
            b"BHS" => {
                if out
                    .batches
                    .last()
                    .is_some_and(|b| b.header.is_some() && b.trailer.is_none())
                {
                    return bad(n, "BHS before the previous batch's BTS".into());
                }
                bhs_count += 1;
                out.batches.push(SubBatch {
                    header: Some(text.to_vec()),
                    ..SubBatch::default()
                });
            }
            b"MSH" => {
                if out.batches.last().is_none_or(|b| b.trailer.is_some()) {
                    out.batches.push(SubBatch::default());
                }
                open_msg = Some(l.start);
            }
            b"BTS" => {
                let Some(b) = out
                    .batches
                    .last_mut()
                    .filter(|b| b.header.is_some() && b.trailer.is_none())
                else {
                    return bad(n, "BTS without its BHS".into());
                };
                check_count(text, fs, b.messages.len(), "BTS-1 (batch message count)", n)?;
                b.trailer = Some(text.to_vec());
            }
            b"FTS" => {
                if out.file_header.is_none() {
                    return bad(n, "FTS without FHS".into());
                }
                if out
                    .batches
                    .iter()
                    .any(|b| b.header.is_some() && b.trailer.is_none())
                {
                    return bad(n, "FTS before the last batch's BTS".into());
                }
                if bhs_count > 0 {
                    check_count(text, fs, bhs_count, "FTS-1 (file batch count)", n)?;
                }
                out.file_trailer = Some(text.to_vec());
            }
            _ if open_msg.is_some() => {}
            _ => return bad(n, "segment outside a message (2.10.3)".into()),
        }
    }
    if let Some(start) = open_msg {
        let msg = raw.get(start..).unwrap_or_default().to_vec();
        push_message(&mut out, msg);
    }
    if out
        .batches
        .iter()
        .any(|b| b.header.is_some() && b.trailer.is_none())
    {
        return bad(lines.len(), "batch without BTS: truncated?".into());
    }
    if out.file_header.is_some() && out.file_trailer.is_none() {
        return bad(lines.len(), "file without FTS: truncated?".into());
    }
    Ok(out)
}

fn push_message(out: &mut Batch, msg: Vec<u8>) {
    match out.batches.last_mut() {
        Some(b) => b.messages.push(msg),
        None => out.batches.push(SubBatch {
            messages: vec![msg],
            ..SubBatch::default()
        }),
    }
}

/// Compare a trailer's count field (field 1) with what was counted.
fn check_count(line: &[u8], fs: u8, have: usize, what: &str, n: usize) -> Result<(), ParseError> {
    let raw = line.split(|&b| b == fs).nth(1).unwrap_or_default();
    let value = String::from_utf8_lossy(raw);
    let value = value.trim();
    if value.is_empty() {
        return Ok(());
    }
    match value.parse::<usize>() {
        Ok(said) if said == have => Ok(()),
        Ok(said) => Err(ParseError::BadSegment {
            segment: n,
            reason: format!("{what} says {said}, found {have}"),
        }),
        Err(_) => Err(ParseError::BadSegment {
            segment: n,
            reason: format!("{what} is not a number: {value:?}"),
        }),
    }
}
