//! Escape sequences (HL7 v2.5.1 section 2.7 "Use of escape sequences in text
//! fields"; v2.7 section 2.7.1 adds `\P\` for the truncation character).
//!
//! Our own decoder instead of hl7-parser's `Separators::decode`, which mixes
//! byte and char offsets (panics on `éé\F\`, mangles `é\S\x`) and leaves
//! `\Xhh\`, `\H\`, `\N\` as literal text. This one only ever slices at the
//! positions `str::find` returns for the (ASCII) escape character, so it is
//! correct next to multi-byte UTF-8 text.
//!
//! An escape sequence is the escape character, an escape code, zero or more
//! data characters and another escape character (2.7). Sequences that are
//! unknown, malformed or unterminated are kept literally: the standard gives
//! them no meaning, and losing the sender's bytes would be worse.

use crate::charset::Charset;
use crate::message::Separators;
use std::borrow::Cow;

/// Most `\.sp n\` lines we expand, so a hostile `\.sp 999999999\` stays small.
const MAX_SP: usize = 100;

/// Decode every escape sequence in one leaf value (a subcomponent).
pub fn decode<'a>(value: &'a str, seps: &Separators, charset: Charset) -> Cow<'a, str> {
    let esc = seps.escape;
    if !value.contains(esc) {
        return Cow::Borrowed(value);
    }
    let w = esc.len_utf8();
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find(esc) {
        out.push_str(rest.get(..start).unwrap_or_default());
        let after = rest.get(start + w..).unwrap_or_default();
        let Some(end) = after.find(esc) else {
            // Unterminated: keep the escape character and the rest as text.
            out.push_str(rest.get(start..).unwrap_or_default());
            return Cow::Owned(out);
        };
        let body = after.get(..end).unwrap_or_default();
        if body.is_empty() {
            // `\\`: no escape code, so the first one is a literal character and
            // the second may still open a sequence.
            out.push(esc);
            rest = after;
            continue;
        }
        match expand(body, seps, charset, &mut out) {
            true => {}
            false => {
                out.push(esc);
                out.push_str(body);
                out.push(esc);
            }
        }
        rest = after.get(end + w..).unwrap_or_default();
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Append the meaning of one sequence body (between the escape characters)
/// to `out`; false when it has none we know, so the caller keeps it as text.
fn expand(body: &str, seps: &Separators, charset: Charset, out: &mut String) -> bool {
    let mut chars = body.chars();
    let code = chars.next();
    let data = chars.as_str();
    match (code, data.is_empty()) {
        // 2.7.1-2.7.2: the delimiters themselves.
        (Some('F'), true) => out.push(seps.field),
        (Some('S'), true) => out.push(seps.component),
        (Some('T'), true) => out.push(seps.subcomponent),
        (Some('R'), true) => out.push(seps.repetition),
        (Some('E'), true) => out.push(seps.escape),
        // v2.7 2.7.1: \P\ is the truncation character; meaningless without one.
        (Some('P'), true) => match seps.truncation {
            Some(t) => out.push(t),
            None => return false,
        },
        // 2.7.3 highlighting: start/end of highlighted text. Plain text has no
        // highlighting, so the markers are dropped.
        (Some('H'), true) | (Some('N'), true) => {}
        // 2.7.6 hexadecimal data: one or more pairs of hex digits, bytes whose
        // meaning is the message's character set.
        (Some('X'), false) => {
            match hex_bytes(data).and_then(|b| charset.decode(&b).ok().map(|s| s.into_owned())) {
                Some(text) => out.push_str(&text),
                None => return false,
            }
        }
        // 2.7.4/2.7.5 (\Cxxyy\, \Mxxyyzz\ charset switching) and \Z..\ (local):
        // not supported, kept literally.
        (Some('.'), false) => return formatting(data, out),
        _ => return false,
    }
    true
}

/// Formatted-text commands (2.7.6 "Formatted text", used by the FT type):
/// line structure becomes newlines, layout-only commands are dropped.
fn formatting(cmd: &str, out: &mut String) -> bool {
    let (name, arg) = match cmd.get(..2) {
        Some(n) => (n, cmd.get(2..).unwrap_or_default().trim()),
        None => return false,
    };
    match name {
        // .br: begin new output line.
        "br" if arg.is_empty() => out.push('\n'),
        // .sp <n>: end the line and skip n (default 1) vertical spaces.
        "sp" => {
            let n = if arg.is_empty() {
                Some(1)
            } else {
                arg.parse::<usize>().ok()
            };
            match n {
                Some(n) => out.extend(std::iter::repeat_n('\n', n.clamp(1, MAX_SP))),
                None => return false,
            }
        }
        // .ce: end the current line and centre the next one.
        "ce" if arg.is_empty() => out.push('\n'),
        // .fi/.nf (fill mode), .in/.ti (indent), .sk (skip columns): layout only.
        "fi" | "nf" if arg.is_empty() => {}
        "in" | "ti" | "sk" => {}
        _ => return false,
    }
    true
}

fn hex_bytes(hex: &str) -> Option<Vec<u8>> {
    if hex.is_empty() || !hex.len().is_multiple_of(2) || !hex.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|p| u8::from_str_radix(p, 16).ok())
        })
        .collect()
}

/// Escape one leaf value for output (2.7: the delimiters, and the escape
/// character itself, must not appear literally in data). Control characters
/// (CR would end the segment, VT/FS the MLLP frame) become `\Xhh\`.
pub fn encode<'a>(value: &'a str, seps: &Separators) -> Cow<'a, str> {
    let special = |c: char| {
        c == seps.field
            || c == seps.component
            || c == seps.subcomponent
            || c == seps.repetition
            || c == seps.escape
            || Some(c) == seps.truncation
            || c.is_ascii_control()
    };
    if !value.chars().any(special) {
        return Cow::Borrowed(value);
    }
    let e = seps.escape;
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        let code = if c == seps.escape {
            Some('E')
        } else if c == seps.field {
            Some('F')
        } else if c == seps.component {
            Some('S')
        } else if c == seps.subcomponent {
            Some('T')
        } else if c == seps.repetition {
            Some('R')
        } else if Some(c) == seps.truncation {
            Some('P')
        } else {
            None
        };
        match code {
            Some(k) => {
                out.push(e);
                out.push(k);
                out.push(e);
            }
            None if c.is_ascii_control() => {
                out.push(e);
                out.push_str(&format!("X{:02X}", u32::from(c)));
                out.push(e);
            }
            None => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> String {
        decode(s, &Separators::default(), Charset::Utf8).into_owned()
    }

    #[test]
    fn delimiter_escapes_2_7_1() {
        assert_eq!(d(r"a\F\b\S\c\T\d\R\e\E\f"), "a|b^c&d~e\\f");
    }

    #[test]
    fn escapes_next_to_multibyte_text() {
        // hl7-parser's decoder panics on exactly this input.
        assert_eq!(d("éé\\F\\"), "éé|");
        assert_eq!(d("é\\S\\x"), "é^x");
        assert_eq!(d("日本\\T\\語"), "日本&語");
    }

    #[test]
    fn hex_data_2_7_6_uses_the_charset() {
        assert_eq!(d(r"\X41\"), "A");
        assert_eq!(d(r"\X0D0A\"), "\r\n");
        // C3 A9 is "é" in UTF-8; E9 is "é" in ISO 8859-1.
        assert_eq!(d(r"\XC3A9\"), "é");
        let latin = decode(r"\XE9\", &Separators::default(), Charset::Latin1);
        assert_eq!(latin, "é");
        // Odd digit count or non-hex: malformed, kept as text.
        assert_eq!(d(r"\X4\"), r"\X4\");
        assert_eq!(d(r"\XZZ\"), r"\XZZ\");
        // Not valid UTF-8 on its own: kept as text.
        assert_eq!(d(r"\XE9\"), r"\XE9\");
    }

    #[test]
    fn highlighting_and_formatting() {
        assert_eq!(d(r"\H\bold\N\ text"), "bold text");
        assert_eq!(d(r"line 1\.br\line 2"), "line 1\nline 2");
        assert_eq!(d(r"a\.sp 2\b"), "a\n\nb");
        assert_eq!(d(r"\.in+4\x"), "x");
    }

    #[test]
    fn unknown_and_malformed_kept_literally() {
        assert_eq!(d(r"\Q\"), r"\Q\");
        assert_eq!(d(r"\Zlocal\"), r"\Zlocal\");
        assert_eq!(d(r"\C2842\"), r"\C2842\");
        assert_eq!(d(r"tail\F"), r"tail\F");
        assert_eq!(d(r"a\\F\"), r"a\|");
        // \P\ only means something when MSH-2 has a truncation character.
        assert_eq!(d(r"\P\"), r"\P\");
        let t = Separators {
            truncation: Some('#'),
            ..Separators::default()
        };
        assert_eq!(decode(r"\P\", &t, Charset::Utf8), "#");
    }

    #[test]
    fn encode_round_trips() {
        let s = Separators::default();
        assert_eq!(encode("a|b^c&d~e\\f", &s), r"a\F\b\S\c\T\d\R\e\E\f");
        assert_eq!(encode("x\ry", &s), r"x\X0D\y");
        for v in ["plain", "é|ü^日本", "\\\\F\\", "a\r\nb\u{b}\u{1c}", "#~"] {
            assert_eq!(d(&encode(v, &s)), v);
        }
    }
}
