//! Why a message could not be translated, in the terms an HL7 v2 acknowledgement
//! needs (v2.5.1 chapter 2, 2.15.5 ERR segment): where (ERR-2, an ERL), what
//! (ERR-3, a code of HL7 table 0357) and a readable text (ERR-8).
//!
//! The text never quotes message content: it names fields (`PID-7`), never
//! their values, so an error can be logged and returned without leaking PHI.

use std::fmt;

/// HL7 table 0357 "Message error condition codes" (the ones this crate emits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 100: a segment where the message structure does not allow it.
    SegmentSequenceError,
    /// 101: a field the mapping needs is empty.
    RequiredFieldMissing,
    /// 102: a value does not have the form of its data type (e.g. a bad DTM).
    DataTypeError,
    /// 103: a coded value is not in the table the field uses.
    TableValueNotFound,
    /// 200: MSH-9.1 names a message type this gateway does not translate.
    UnsupportedMessageType,
    /// 201: the message type is known but MSH-9.2 is an event it does not translate.
    UnsupportedEventCode,
    /// 207: a fault on our side (e.g. a bad MapOptions value), not the sender's.
    ApplicationInternalError,
}

impl ErrorCode {
    /// The table 0357 code, for ERR-3.1.
    pub fn code(&self) -> &'static str {
        match self {
            ErrorCode::SegmentSequenceError => "100",
            ErrorCode::RequiredFieldMissing => "101",
            ErrorCode::DataTypeError => "102",
            ErrorCode::TableValueNotFound => "103",
            ErrorCode::UnsupportedMessageType => "200",
            ErrorCode::UnsupportedEventCode => "201",
            ErrorCode::ApplicationInternalError => "207",
        }
    }

    /// The table 0357 display text, for ERR-3.2.
    pub fn display(&self) -> &'static str {
        match self {
            ErrorCode::SegmentSequenceError => "Segment sequence error",
            ErrorCode::RequiredFieldMissing => "Required field missing",
            ErrorCode::DataTypeError => "Data type error",
            ErrorCode::TableValueNotFound => "Table value not found",
            ErrorCode::UnsupportedMessageType => "Unsupported message type",
            ErrorCode::UnsupportedEventCode => "Unsupported event code",
            ErrorCode::ApplicationInternalError => "Application internal error",
        }
    }

    /// Whether the acknowledgement should be AR (reject: the message can never be
    /// processed as sent, 2.9.2) rather than AE (error in the content).
    pub fn is_reject(&self) -> bool {
        matches!(
            self,
            ErrorCode::UnsupportedMessageType
                | ErrorCode::UnsupportedEventCode
                | ErrorCode::ApplicationInternalError
        )
    }
}

/// ERR-2 (ERL data type): segment id, its occurrence, field, component; all
/// 1-based, `None` where the error is about a whole segment or field.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    /// ERL-1, e.g. `PID`.
    pub segment: String,
    /// ERL-2: which occurrence of that segment id in the message (1 = first).
    pub sequence: usize,
    /// ERL-3: field position (MSH numbering as in the standard: MSH-9 is 9).
    pub field: Option<usize>,
    /// ERL-4: repetition of the field (1-based), when known.
    pub repetition: Option<usize>,
    /// ERL-5: component.
    pub component: Option<usize>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]", self.segment, self.sequence)?;
        if let Some(field) = self.field {
            write!(f, "-{field}")?;
            if let Some(r) = self.repetition {
                write!(f, "({r})")?;
            }
            if let Some(c) = self.component {
                write!(f, ".{c}")?;
            }
        }
        Ok(())
    }
}

/// A translation failure. `message` is for people (ERR-8) and carries no
/// patient data; `location` and `code` are for ERR-2 and ERR-3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapError {
    pub location: Location,
    pub code: ErrorCode,
    pub message: String,
}

impl MapError {
    pub fn new(code: ErrorCode, location: Location, message: impl Into<String>) -> Self {
        MapError {
            location,
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} at {}: {}",
            self.code.code(),
            self.code.display(),
            self.location,
            self.message
        )
    }
}

impl std::error::Error for MapError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_place_not_the_value() {
        let e = MapError::new(
            ErrorCode::DataTypeError,
            Location {
                segment: "PID".into(),
                sequence: 1,
                field: Some(7),
                repetition: None,
                component: Some(1),
            },
            "PID-7 is not a valid DTM",
        );
        assert_eq!(
            e.to_string(),
            "102 Data type error at PID[1]-7.1: PID-7 is not a valid DTM"
        );
        assert!(!e.code.is_reject());
        assert!(ErrorCode::UnsupportedMessageType.is_reject());
    }
}
