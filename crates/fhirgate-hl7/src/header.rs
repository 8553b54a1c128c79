//! Reading MSH (and FHS/BHS, which share its first fields, 2.10.3) from raw
//! bytes, before the message is decoded: the separators (MSH-1, MSH-2) and
//! the character set (MSH-18) decide how the rest is read.

use crate::message::Separators;
use crate::parse::ParseError;
use std::ops::Range;

pub(crate) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Drop a UTF-8 byte order mark and blank lines before the first segment.
pub(crate) fn trim_start(raw: &[u8]) -> &[u8] {
    let raw = raw.strip_prefix(BOM).unwrap_or(raw);
    let skip = raw
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n' | b' ' | b'\t'))
        .count();
    raw.get(skip..).unwrap_or_default()
}

/// The first segment line (up to CR or LF).
pub(crate) fn first_line(raw: &[u8]) -> &[u8] {
    let end = raw
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(raw.len());
    raw.get(..end).unwrap_or_default()
}

/// A delimiter must be a printable, non-alphanumeric ASCII character: the
/// standard's are `|^~\&#`, and anything else (a letter, a blank, a control
/// character, a byte of a multi-byte character) cannot be told from data.
fn is_delimiter(b: u8) -> bool {
    b.is_ascii_punctuation()
}

/// MSH-1 and MSH-2 (2.5.4 "Delimiters"; v2.7 2.5.5.2 adds the fifth, the
/// truncation character). `line` starts with a three-letter header id.
pub(crate) fn separators(line: &[u8]) -> Result<Separators, ParseError> {
    let bad = |r: &str| Err(ParseError::BadHeader(r.to_string()));
    let Some(&field) = line.get(3) else {
        return bad("MSH-1 (field separator) is missing");
    };
    if !is_delimiter(field) {
        return bad("MSH-1 (field separator) must be a printable non-alphanumeric ASCII character");
    }
    let rest = line.get(4..).unwrap_or_default();
    let enc = rest
        .get(..rest.iter().position(|&b| b == field).unwrap_or(rest.len()))
        .unwrap_or_default();
    let (component, repetition, escape, subcomponent, truncation) = match *enc {
        [a, b, c, d] => (a, b, c, d, None),
        [a, b, c, d, t] => (a, b, c, d, Some(t)),
        _ => return bad("MSH-2 (encoding characters) must be 4 characters, or 5 with the v2.7 truncation character"),
    };
    let mut all = vec![field, component, repetition, escape, subcomponent];
    all.extend(truncation);
    if !all.iter().all(|&b| is_delimiter(b)) {
        return bad(
            "MSH-2 (encoding characters) must be printable non-alphanumeric ASCII characters",
        );
    }
    let mut sorted = all.clone();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() != all.len() {
        return bad("MSH-1 and MSH-2 delimiters must all be different");
    }
    Ok(Separators {
        field: char::from(field),
        component: char::from(component),
        repetition: char::from(repetition),
        escape: char::from(escape),
        subcomponent: char::from(subcomponent),
        truncation: truncation.map(char::from),
    })
}

/// Raw header field `n` in MSH numbering (MSH-1 is the separator itself, so
/// the `k`-th piece after splitting at it is field `k + 1`). Empty if absent.
pub(crate) fn raw_field(line: &[u8], field_sep: u8, n: usize) -> &[u8] {
    match n {
        0 => &[],
        1 => line.get(3..4).unwrap_or_default(),
        _ => line
            .split(|&b| b == field_sep)
            .nth(n - 1)
            .unwrap_or_default(),
    }
}

/// The value of a coded raw field (MSH-18) as the parsed model will hold
/// it: first repetition, first component, first subcomponent, unescaped,
/// trimmed. It is read before the text is decoded, so it must come out the
/// same as the model's `value(18)` or the charset chosen and the charset
/// echoed in the ACK would differ.
pub(crate) fn first_value(raw: &[u8], seps: &Separators) -> String {
    let stop = |b: &u8| {
        let c = char::from(*b);
        c == seps.repetition || c == seps.component || c == seps.subcomponent
    };
    let end = raw.iter().position(stop).unwrap_or(raw.len());
    let value = String::from_utf8_lossy(raw.get(..end).unwrap_or_default());
    // Table 0211 codes are ASCII: decoding escapes as ASCII is enough.
    let value = crate::escape::decode(&value, seps, crate::charset::Charset::Ascii);
    crate::charset::trim_code(&value).to_string()
}

/// The non-blank segment lines of a message, batch or file, as byte ranges
/// without their terminators. One splitter for the parser, the batch split
/// and the AR's error location, so that they all count segments alike.
///
/// The segment terminator is CR (2.5.1); CRLF and LF are taken too, which
/// files and some senders use. A lone LF that is not followed by something
/// that looks like a segment start (or a blank line, or the end) is data: a
/// line break inside a text value. Works on raw bytes, before transcoding:
/// every accepted charset is ASCII-compatible, and only ASCII bytes are cut
/// at, so ranges over decoded text stay on char boundaries.
pub(crate) fn segment_lines(raw: &[u8], fs: u8) -> Vec<Range<usize>> {
    let mut lines = Vec::new();
    let mut push = |r: Range<usize>| {
        let text = raw.get(r.clone()).unwrap_or_default();
        if !text.iter().all(|b| matches!(b, b' ' | b'\t')) {
            lines.push(r);
        }
    };
    let (mut start, mut i) = (0, 0);
    while let Some(&c) = raw.get(i) {
        let cut = match c {
            b'\r' => Some(if raw.get(i + 1) == Some(&b'\n') { 2 } else { 1 }),
            b'\n' if lf_ends_segment(raw.get(i + 1..).unwrap_or_default(), fs) => Some(1),
            _ => None,
        };
        if let Some(len) = cut {
            push(start..i);
            i += len;
            start = i;
        } else {
            i += 1;
        }
    }
    push(start..raw.len());
    lines
}

/// What follows an LF: the end, another line end, a blank line or a segment.
fn lf_ends_segment(next: &[u8], fs: u8) -> bool {
    let line_end = next
        .iter()
        .position(|&c| c == b'\r' || c == b'\n')
        .unwrap_or(next.len());
    let line = next.get(..line_end).unwrap_or_default();
    segment_id(line, fs).is_some() || line.iter().all(|c| matches!(c, b' ' | b'\t'))
}

/// The segment id of a line: 3 upper-case ASCII letters or digits followed
/// by the field separator or the end of the line (2.5.2).
pub(crate) fn segment_id(line: &[u8], fs: u8) -> Option<&[u8]> {
    let id = line.get(..3)?;
    let ok_id = id
        .iter()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    let ok_next = line.get(3).is_none_or(|&c| c == fs);
    (ok_id && ok_next).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_and_truncation_separators() {
        let s = separators(b"MSH|^~\\&|A").ok();
        assert_eq!(s, Some(Separators::default()));
        let t = separators(b"MSH|^~\\&#|A").ok().and_then(|s| s.truncation);
        assert_eq!(t, Some('#'));
    }

    #[test]
    fn odd_encoding_characters_refused() {
        for line in [
            &b"MSH"[..],
            b"MSH|^~\\|A",
            b"MSH|^~\\&#!|A",
            b"MSH|^^\\&|A",
            b"MSH|^~\\a|A",
            b"MSHA^~\\&|",
            b"MSH|^~\\\xc3",
        ] {
            assert!(
                matches!(separators(line), Err(ParseError::BadHeader(_))),
                "{line:?}"
            );
        }
    }

    #[test]
    fn raw_fields_use_msh_numbering() {
        let l = b"MSH|^~\\&|APP|FAC|||||ORU^R01|CTRL-1|P|2.5";
        assert_eq!(raw_field(l, b'|', 1), b"|");
        assert_eq!(raw_field(l, b'|', 2), b"^~\\&");
        assert_eq!(raw_field(l, b'|', 3), b"APP");
        assert_eq!(raw_field(l, b'|', 10), b"CTRL-1");
        assert_eq!(raw_field(l, b'|', 18), b"");
    }
}
