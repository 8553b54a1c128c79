//! MSH-18 character sets (HL7 v2.5.1 section 2.14.9.18, table 0211) and the
//! transcoding of a whole message to UTF-8 before anything else looks at it.
//!
//! Why a whole-message transcode first: hl7-parser only takes `&str`, and the
//! separators, escape character and segment terminators are all ASCII (2.5.4),
//! so every charset accepted here is ASCII-compatible and MSH-18 can be read
//! from the raw bytes before the text is decoded. UTF-16/32 ("UNICODE UTF-16",
//! "UNICODE UTF-32") can never reach this point: their "MSH" would not be three
//! single bytes.

use crate::parse::ParseError;
use std::borrow::Cow;

/// The character sets we decode. Everything else in table 0211 (the other
/// ISO 8859 parts, the CJK sets, ISO 2022 switching with MSH-20) is refused
/// with [`ParseError::Encoding`] rather than guessed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// MSH-18 empty. The standard's default is 7-bit ASCII (2.14.9.18); we
    /// accept UTF-8, its superset, because that is what senders that do not
    /// fill MSH-18 actually send. Invalid UTF-8 is still an error.
    Unspecified,
    /// `ASCII` / `ISO IR6`: bytes above 0x7F are an error.
    Ascii,
    /// `8859/1` / `ISO IR100`: every byte is the code point of the same value.
    Latin1,
    /// `UNICODE UTF-8`, and `UNICODE` (ISO 10646 in general): as argued above,
    /// an ASCII-compatible UCS form can only be UTF-8.
    Utf8,
}

impl Charset {
    /// Table 0211 code -> charset. Codes are compared without surrounding
    /// blanks and case-insensitively; `ISO IR100` also in the DICOM-like
    /// spellings `ISO IR 100` / `ISO_IR 100` that senders use.
    pub fn from_code(code: &str) -> Result<Charset, ParseError> {
        let norm: String = trim_code(code)
            .chars()
            .map(|c| {
                if c == '_' {
                    ' '
                } else {
                    c.to_ascii_uppercase()
                }
            })
            .collect();
        match norm.as_str() {
            "" => Ok(Charset::Unspecified),
            "ASCII" | "ISO IR6" | "ISO IR 6" | "US-ASCII" => Ok(Charset::Ascii),
            "8859/1" | "ISO IR100" | "ISO IR 100" | "ISO-8859-1" => Ok(Charset::Latin1),
            "UNICODE UTF-8" | "UNICODE" | "UTF-8" => Ok(Charset::Utf8),
            _ => Err(ParseError::Encoding(format!(
                "character set {:?} (MSH-18) is not supported",
                trim_code(code)
            ))),
        }
    }

    /// The table 0211 code this charset is declared with, as we echo it.
    pub fn code(self) -> &'static str {
        match self {
            Charset::Unspecified => "",
            Charset::Ascii => "ASCII",
            Charset::Latin1 => "8859/1",
            Charset::Utf8 => "UNICODE UTF-8",
        }
    }

    /// Decode the raw bytes of a message (or of a `\X..\` escape) to text.
    pub fn decode<'a>(self, raw: &'a [u8]) -> Result<Cow<'a, str>, ParseError> {
        match self {
            Charset::Unspecified | Charset::Utf8 => std::str::from_utf8(raw)
                .map(Cow::Borrowed)
                .map_err(|e| ParseError::Encoding(format!("invalid UTF-8: {e}"))),
            Charset::Ascii => match raw.iter().position(|b| !b.is_ascii()) {
                None => std::str::from_utf8(raw)
                    .map(Cow::Borrowed)
                    .map_err(|e| ParseError::Encoding(e.to_string())),
                Some(at) => Err(ParseError::Encoding(format!(
                    "byte 0x{:02X} at offset {at} is not ASCII (MSH-18 says ASCII)",
                    raw.get(at).copied().unwrap_or_default()
                ))),
            },
            Charset::Latin1 => {
                if raw.is_ascii() {
                    std::str::from_utf8(raw)
                        .map(Cow::Borrowed)
                        .map_err(|e| ParseError::Encoding(e.to_string()))
                } else {
                    Ok(Cow::Owned(raw.iter().map(|&b| char::from(b)).collect()))
                }
            }
        }
    }

    /// Encode text for a reply in this charset; characters it cannot carry
    /// become `?` (an ACK must still go out).
    pub fn encode(self, text: &str) -> Vec<u8> {
        match self {
            Charset::Unspecified | Charset::Utf8 => text.as_bytes().to_vec(),
            Charset::Ascii => text
                .chars()
                .map(|c| if c.is_ascii() { c as u8 } else { b'?' })
                .collect(),
            Charset::Latin1 => text
                .chars()
                .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
                .collect(),
        }
    }
}

/// An MSH-18 value without surrounding blanks and ASCII control characters.
/// Only ASCII ones: the raw value is looked at before the text is decoded, so
/// what is trimmed must be the same whatever the charset turns out to be.
pub fn trim_code(code: &str) -> &str {
    code.trim_matches(|c: char| c == ' ' || c.is_ascii_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_0211_codes() {
        assert_eq!(Charset::from_code(""), Ok(Charset::Unspecified));
        assert_eq!(Charset::from_code("ASCII"), Ok(Charset::Ascii));
        assert_eq!(Charset::from_code("8859/1"), Ok(Charset::Latin1));
        assert_eq!(Charset::from_code("ISO IR100"), Ok(Charset::Latin1));
        assert_eq!(Charset::from_code("UNICODE UTF-8"), Ok(Charset::Utf8));
        assert!(matches!(
            Charset::from_code("8859/7"),
            Err(ParseError::Encoding(_))
        ));
        assert!(matches!(
            Charset::from_code("KLINGON"),
            Err(ParseError::Encoding(_))
        ));
    }

    #[test]
    fn latin1_bytes_are_code_points() {
        // 0xE9 is "é" in ISO 8859-1.
        let s = Charset::Latin1.decode(b"Ren\xe9").ok();
        assert_eq!(s.as_deref(), Some("René"));
        assert_eq!(Charset::Latin1.encode("René€"), b"Ren\xe9?".to_vec());
    }

    #[test]
    fn ascii_refuses_high_bytes_and_utf8_refuses_garbage() {
        assert!(Charset::Ascii.decode(b"Ren\xe9").is_err());
        assert!(Charset::Utf8.decode(b"Ren\xe9").is_err());
        assert!(Charset::Unspecified.decode("René".as_bytes()).is_ok());
    }
}
