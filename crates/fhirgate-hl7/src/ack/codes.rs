//! The coded values of an acknowledgement: table 0008 (MSA-1), table 0155
//! (MSH-15/16), table 0357 (ERR-3), table 0516 (ERR-4), and the ERR-2 error
//! location (ERL data type).

/// Table 0008, acknowledgment code (MSA-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckCode {
    /// Original mode: application accept; enhanced: application ack accept.
    AA,
    /// Application error.
    AE,
    /// Application reject.
    AR,
    /// Enhanced mode accept acknowledgment: commit accept.
    CA,
    /// Commit error.
    CE,
    /// Commit reject.
    CR,
}

impl AckCode {
    pub fn as_str(self) -> &'static str {
        match self {
            AckCode::AA => "AA",
            AckCode::AE => "AE",
            AckCode::AR => "AR",
            AckCode::CA => "CA",
            AckCode::CE => "CE",
            AckCode::CR => "CR",
        }
    }
}

/// What happened to a message, before it is said in a mode's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Accepted,
    /// Processed with (or failed on) an error; a resend might succeed.
    Error,
    /// Refused outright (header not acceptable, unparsable ...).
    Rejected,
}

impl Outcome {
    /// Original mode (2.9.2) and enhanced application ack (2.9.3): AA/AE/AR.
    pub fn application_code(self) -> AckCode {
        match self {
            Outcome::Accepted => AckCode::AA,
            Outcome::Error => AckCode::AE,
            Outcome::Rejected => AckCode::AR,
        }
    }

    /// Enhanced mode accept acknowledgment (2.9.3): CA/CE/CR.
    pub fn accept_code(self) -> AckCode {
        match self {
            Outcome::Accepted => AckCode::CA,
            Outcome::Error => AckCode::CE,
            Outcome::Rejected => AckCode::CR,
        }
    }
}

/// Table 0155, accept/application acknowledgment conditions (MSH-15/16).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// AL
    Always,
    /// NE
    Never,
    /// ER: error/reject conditions only.
    ErrorOnly,
    /// SU: successful completion only.
    SuccessOnly,
}

impl Condition {
    /// `None` for an empty field. An unknown code counts as AL: answering
    /// when not asked is safer than leaving a sender waiting.
    pub fn from_code(code: &str) -> Option<Condition> {
        match code.trim() {
            "" => None,
            "NE" => Some(Condition::Never),
            "ER" => Some(Condition::ErrorOnly),
            "SU" => Some(Condition::SuccessOnly),
            _ => Some(Condition::Always),
        }
    }

    pub fn wants(self, outcome: Outcome) -> bool {
        match self {
            Condition::Always => true,
            Condition::Never => false,
            Condition::ErrorOnly => outcome != Outcome::Accepted,
            Condition::SuccessOnly => outcome == Outcome::Accepted,
        }
    }
}

/// Table 0357, message error condition codes (ERR-3), with the table's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    MessageAccepted,
    SegmentSequenceError,
    RequiredFieldMissing,
    DataTypeError,
    TableValueNotFound,
    ValueTooLong,
    UnsupportedMessageType,
    UnsupportedEventCode,
    UnsupportedProcessingId,
    UnsupportedVersionId,
    UnknownKeyIdentifier,
    DuplicateKeyIdentifier,
    ApplicationRecordLocked,
    ApplicationError,
}

impl ErrorCode {
    pub fn code(self) -> u16 {
        match self {
            ErrorCode::MessageAccepted => 0,
            ErrorCode::SegmentSequenceError => 100,
            ErrorCode::RequiredFieldMissing => 101,
            ErrorCode::DataTypeError => 102,
            ErrorCode::TableValueNotFound => 103,
            ErrorCode::ValueTooLong => 104,
            ErrorCode::UnsupportedMessageType => 200,
            ErrorCode::UnsupportedEventCode => 201,
            ErrorCode::UnsupportedProcessingId => 202,
            ErrorCode::UnsupportedVersionId => 203,
            ErrorCode::UnknownKeyIdentifier => 204,
            ErrorCode::DuplicateKeyIdentifier => 205,
            ErrorCode::ApplicationRecordLocked => 206,
            ErrorCode::ApplicationError => 207,
        }
    }

    /// The display text of the code in table 0357 (v2-tables.json).
    pub fn text(self) -> &'static str {
        match self {
            ErrorCode::MessageAccepted => "Message accepted",
            ErrorCode::SegmentSequenceError => "Segment sequence error",
            ErrorCode::RequiredFieldMissing => "Required field missing",
            ErrorCode::DataTypeError => "Data type error",
            ErrorCode::TableValueNotFound => "Table value not found",
            ErrorCode::ValueTooLong => "Value too long",
            ErrorCode::UnsupportedMessageType => "Unsupported message type",
            ErrorCode::UnsupportedEventCode => "Unsupported event code",
            ErrorCode::UnsupportedProcessingId => "Unsupported processing id",
            ErrorCode::UnsupportedVersionId => "Unsupported version id",
            ErrorCode::UnknownKeyIdentifier => "Unknown key identifier",
            ErrorCode::DuplicateKeyIdentifier => "Duplicate key identifier",
            ErrorCode::ApplicationRecordLocked => "Application record locked",
            ErrorCode::ApplicationError => "Application error",
        }
    }
}

/// Table 0516, error severity (ERR-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
    Information,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "E",
            Severity::Warning => "W",
            Severity::Information => "I",
        }
    }
}

/// ERR-2, error location (ERL): segment id ^ segment sequence ^ field
/// position ^ field repetition ^ component number ^ sub-component number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorLocation {
    pub segment: String,
    /// Which occurrence of `segment` (1 for the first).
    pub sequence: usize,
    pub field: Option<usize>,
    pub repetition: Option<usize>,
    pub component: Option<usize>,
    pub subcomponent: Option<usize>,
}

impl ErrorLocation {
    pub fn segment(segment: &str, sequence: usize) -> Self {
        ErrorLocation {
            segment: segment.to_string(),
            sequence,
            field: None,
            repetition: None,
            component: None,
            subcomponent: None,
        }
    }

    pub fn field(segment: &str, sequence: usize, field: usize) -> Self {
        ErrorLocation {
            field: Some(field),
            ..ErrorLocation::segment(segment, sequence)
        }
    }
}

/// One ERR segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckError {
    pub code: ErrorCode,
    pub severity: Severity,
    pub location: Option<ErrorLocation>,
    /// ERR-8, user message: readable text, escaped on output.
    pub message: String,
}

impl AckError {
    pub fn new(
        code: ErrorCode,
        location: Option<ErrorLocation>,
        message: impl Into<String>,
    ) -> Self {
        AckError {
            code,
            severity: Severity::Error,
            location,
            message: message.into(),
        }
    }
}
