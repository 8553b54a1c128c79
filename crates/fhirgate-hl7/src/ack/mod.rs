//! Acknowledgements (HL7 v2.5.1 section 2.9 "Message processing rules",
//! 2.13.1 ACK, 2.15 MSA and ERR segments).
//!
//! - Original mode (2.9.2), MSH-15 and MSH-16 both empty: the receiver
//!   always answers with an application acknowledgment, AA/AE/AR.
//! - Enhanced mode (2.9.3), either of them valued: an accept acknowledgment
//!   CA/CE/CR when MSH-15 asks for it (table 0155: AL, NE, ER, SU), then an
//!   application acknowledgment AA/AE/AR when MSH-16 asks. An empty MSH-15 or
//!   MSH-16 in enhanced mode is read as NE: the standard only says what
//!   "both empty" means, and we do not send acknowledgments nobody asked for.
//!
//! The ACK itself: MSH with sender and receiver swapped, MSH-9
//! `ACK^<trigger>^ACK`, a new MSH-10, MSH-11/12 echoed; MSA-1 the code,
//! MSA-2 the original MSH-10; one ERR per error in the v2.5 layout (ERR-2
//! location, ERR-3 table 0357 code, ERR-4 severity, ERR-8 user message), plus
//! ERR-1 for receivers on versions before 2.5, which only know that one.

mod codes;
mod recover;

pub use codes::{AckCode, AckError, Condition, ErrorCode, ErrorLocation, Outcome, Severity};
pub use recover::{recover, Recovered};

use crate::charset::Charset;
use crate::escape::encode;
use crate::message::{Field, Message, Separators};
use crate::parse::ParseError;

/// Versions we accept in MSH-12.1: every published v2 release from 2.1 to
/// 2.8.2. The model is version-neutral (the parser reads the structure, not
/// version-specific segment definitions), so accepting all of them costs
/// nothing; anything else (2.9, 3.0, typos) is answered with 203.
pub const SUPPORTED_VERSIONS: &[&str] = &[
    "2.1", "2.2", "2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8", "2.8.1",
    "2.8.2",
];

/// Version for an ACK whose original's MSH-12 could not be read.
const FALLBACK_VERSION: &str = "2.5.1";

pub fn is_supported_version(v: &str) -> bool {
    SUPPORTED_VERSIONS.contains(&v.trim())
}

/// Original or enhanced acknowledgment mode (2.9.2 / 2.9.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckMode {
    Original,
    Enhanced,
}

pub fn ack_mode(msg: &Message) -> AckMode {
    let msh = msg.msh();
    let valued = |n| msh.is_some_and(|m| !m.value(n).trim().is_empty());
    if valued(15) || valued(16) {
        AckMode::Enhanced
    } else {
        AckMode::Original
    }
}

/// Does the sender want an accept acknowledgment (CA/CE/CR) for this outcome?
/// Never in original mode, which has none.
pub fn wants_accept_ack(msg: &Message, outcome: Outcome) -> bool {
    ack_mode(msg) == AckMode::Enhanced && condition(msg, 15).wants(outcome)
}

/// Does the sender want an application acknowledgment (AA/AE/AR)? Always in
/// original mode; as MSH-16 says in enhanced mode.
pub fn wants_application_ack(msg: &Message, outcome: Outcome) -> bool {
    match ack_mode(msg) {
        AckMode::Original => true,
        AckMode::Enhanced => condition(msg, 16).wants(outcome),
    }
}

fn condition(msg: &Message, n: usize) -> Condition {
    let code = msg.msh().map_or("", |m| m.value(n));
    Condition::from_code(code).unwrap_or(Condition::Never)
}

/// The header checks every receiver makes before accepting (2.9.2 step 1:
/// MSH-12 version and MSH-11 processing id must be acceptable); failures are
/// rejects (AR, or CR in enhanced mode). Message type and event (200/201)
/// are the application's to judge.
pub fn check_header(msg: &Message) -> Vec<AckError> {
    let mut errors = Vec::new();
    let Some(msh) = msg.msh() else {
        return vec![AckError::new(
            ErrorCode::SegmentSequenceError,
            None,
            "no MSH",
        )];
    };
    let v = msg.version();
    if !is_supported_version(v) {
        errors.push(AckError::new(
            ErrorCode::UnsupportedVersionId,
            Some(ErrorLocation::field("MSH", 1, 12)),
            format!("version {v:?} is not supported (2.1 to 2.8.2 are)"),
        ));
    }
    // Table 0103 processing id: D debugging, P production, T training.
    let pid = msh.get(11, 1).trim();
    if !matches!(pid, "P" | "D" | "T") {
        errors.push(AckError::new(
            ErrorCode::UnsupportedProcessingId,
            Some(ErrorLocation::field("MSH", 1, 11)),
            format!("processing id {pid:?} is not P, D or T (table 0103)"),
        ));
    }
    errors
}

/// Build the ACK for a parsed message. `control_id` is the ACK's own MSH-10,
/// `timestamp` its MSH-7 (DTM, e.g. `20240101120000+0000`). The bytes are in
/// the original's MSH-18 character set, which the ACK declares too.
pub fn build_ack(
    original: &Message,
    code: AckCode,
    errors: &[AckError],
    control_id: &str,
    timestamp: &str,
) -> Vec<u8> {
    let s = Separators::default();
    let msh = original.msh();
    let f = |n: usize| {
        msh.and_then(|m| m.field(n))
            .map_or(String::new(), |f| encode_field(f, &s))
    };
    // Trimmed as the parser trimmed it when it chose the charset.
    let charset_code = crate::charset::trim_code(msh.map_or("", |m| m.value(18)));
    let charset = Charset::from_code(charset_code).unwrap_or(Charset::Utf8);
    let header = AckHeader {
        sending: [f(5), f(6)],
        receiving: [f(3), f(4)],
        trigger: encode(original.message_type().1, &s).into_owned(),
        processing: f(11),
        version: f(12),
        charset: encode(charset_code, &s).into_owned(),
    };
    let text = write(
        &header,
        code,
        original.control_id(),
        original.version(),
        errors,
        control_id,
        timestamp,
    );
    charset.encode(&text)
}

/// An AR for bytes the parser refused, with whatever of MSH could be
/// recovered (MSA-2 echoes MSH-10 when it can be found) and one ERR from
/// [`error_for`].
pub fn reject_unparsed(raw: &[u8], err: &ParseError, control_id: &str, timestamp: &str) -> Vec<u8> {
    let s = Separators::default();
    let rec = recover(raw);
    let f = |n: usize| {
        rec.as_ref()
            .map_or(String::new(), |r| encode_field(&r.field(n), &s))
    };
    let header = AckHeader {
        sending: [f(5), f(6)],
        receiving: [f(3), f(4)],
        trigger: rec.as_ref().map_or(String::new(), |r| {
            encode(r.field(9).get(2), &s).into_owned()
        }),
        processing: f(11),
        version: match rec.as_ref().map(|r| r.field(12)) {
            Some(v) if is_supported_version(v.value()) => encode_field(&v, &s),
            _ => FALLBACK_VERSION.to_string(),
        },
        charset: String::new(),
    };
    let echo = rec.as_ref().map(Recovered::control_id).unwrap_or_default();
    let version = rec
        .as_ref()
        .map(|r| r.field(12).value().to_string())
        .unwrap_or_default();
    let errors = [error_for(raw, err)];
    write(
        &header,
        AckCode::AR,
        &echo,
        &version,
        &errors,
        control_id,
        timestamp,
    )
    .into_bytes()
}

/// The ERR for a parse failure: which table 0357 code and where.
pub fn error_for(raw: &[u8], err: &ParseError) -> AckError {
    let msh = |n| Some(ErrorLocation::field("MSH", 1, n));
    let text = err.to_string();
    match err {
        // MSH must be the first segment of every message (2.5.2).
        ParseError::NotHl7(_) => AckError::new(
            ErrorCode::SegmentSequenceError,
            Some(ErrorLocation::segment("MSH", 1)),
            text,
        ),
        ParseError::BadHeader(_) => {
            let rec = recover(raw);
            let (code, at) = match rec {
                Some(r) if r.separators_ok => {
                    let missing = [9, 10, 12]
                        .into_iter()
                        .find(|&n| r.field(n).get(1).trim().is_empty());
                    match missing {
                        Some(n) => (ErrorCode::RequiredFieldMissing, n),
                        None => (ErrorCode::DataTypeError, 2),
                    }
                }
                _ => (ErrorCode::DataTypeError, 2),
            };
            AckError::new(code, msh(at), text)
        }
        ParseError::BadSegment { segment, .. } => {
            let at = recover::segment_at(raw, *segment)
                .map(|(id, seq)| ErrorLocation::segment(&id, seq));
            AckError::new(ErrorCode::SegmentSequenceError, at, text)
        }
        ParseError::Encoding(_) => {
            let declared = recover(raw)
                .map(|r| r.field(18).value().to_string())
                .unwrap_or_default();
            let code = match Charset::from_code(&declared) {
                Err(_) => ErrorCode::TableValueNotFound,
                Ok(_) => ErrorCode::DataTypeError,
            };
            AckError::new(code, msh(18), text)
        }
    }
}

/// The already-escaped header values of an ACK.
struct AckHeader {
    sending: [String; 2],
    receiving: [String; 2],
    trigger: String,
    processing: String,
    version: String,
    charset: String,
}

fn write(
    h: &AckHeader,
    code: AckCode,
    echo_id: &str,
    orig_version: &str,
    errors: &[AckError],
    control_id: &str,
    timestamp: &str,
) -> String {
    let s = Separators::default();
    let e = |v: &str| encode(v, &s).into_owned();
    let [sa, sf] = &h.sending;
    let [ra, rf] = &h.receiving;
    let mut msh = format!(
        "MSH|^~\\&|{sa}|{sf}|{ra}|{rf}|{}||ACK^{}^ACK|{}|{}|{}",
        e(timestamp),
        h.trigger,
        e(control_id),
        h.processing,
        h.version
    );
    if !h.charset.is_empty() {
        msh.push_str(&format!("||||||{}", h.charset));
    }
    let mut out = format!("{msh}\rMSA|{}|{}\r", code.as_str(), e(echo_id));
    let old_layout = version_before(orig_version, (2, 5));
    for err in errors {
        out.push_str(&err_segment(err, old_layout, &s));
        out.push('\r');
    }
    out
}

fn err_segment(err: &AckError, with_err1: bool, s: &Separators) -> String {
    let e = |v: &str| encode(v, s).into_owned();
    let num = |n: Option<usize>| n.map_or(String::new(), |n| n.to_string());
    let (code, text) = (err.code.code(), e(err.code.text()));
    let loc = err.location.as_ref();
    let err2 = loc.map_or(String::new(), |l| {
        let parts = [
            e(&l.segment),
            l.sequence.to_string(),
            num(l.field),
            num(l.repetition),
            num(l.component),
            num(l.subcomponent),
        ];
        parts.join("^").trim_end_matches('^').to_string()
    });
    // ERR-1 (v2.1-2.4 "error code and location"): segment^sequence^field^
    // code as a CE whose parts are subcomponents.
    let err1 = match (with_err1, loc) {
        (true, Some(l)) => format!(
            "{}^{}^{}^{code}&{text}&HL70357",
            e(&l.segment),
            l.sequence,
            num(l.field)
        ),
        (true, None) => format!("^^^{code}&{text}&HL70357"),
        (false, _) => String::new(),
    };
    format!(
        "ERR|{err1}|{err2}|{code}^{text}^HL70357|{}||||{}",
        err.severity.as_str(),
        e(&err.message)
    )
}

/// True when `v` (e.g. "2.3.1") is a version before `major.minor`; false for
/// anything unreadable.
fn version_before(v: &str, (major, minor): (u32, u32)) -> bool {
    let mut parts = v.trim().split('.').map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(a), Some(b)) => (a, b) < (major, minor),
        (Some(a), None) => a < major,
        _ => false,
    }
}

/// A decoded field written back with the ACK's separators, every leaf escaped.
pub fn encode_field(f: &Field, s: &Separators) -> String {
    let reps: Vec<String> = f
        .repetitions
        .iter()
        .map(|r| {
            let comps: Vec<String> = r
                .components
                .iter()
                .map(|c| {
                    let subs: Vec<String> = c
                        .subcomponents
                        .iter()
                        .map(|v| encode(v, s).into_owned())
                        .collect();
                    subs.join(&s.subcomponent.to_string())
                })
                .collect();
            comps.join(&s.component.to_string())
        })
        .collect();
    reps.join(&s.repetition.to_string())
}
