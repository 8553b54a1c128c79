//! From outcomes to acknowledgement frames, over `fhirgate_hl7::ack`
//! (HL7 v2.5.1 section 2.9).
//!
//! Which frames: in original mode one application ACK (AA/AE/AR). In enhanced
//! mode (MSH-15/MSH-16 valued, 2.9.3) first the accept ACK when MSH-15 asks,
//! then the application ACK when MSH-16 asks. The accept ACK says whether the
//! message was committed to safe storage: we store every message we can frame,
//! so it is CA unless the message is rejected outright (CR); a message that
//! fails later in the mapping or the FHIR transaction is CA then AE.

use chrono::Utc;
use fhirgate_hl7::ack::{self as a, AckError, ErrorCode, ErrorLocation, Outcome};
use fhirgate_hl7::{Message, ParseError};

use super::Hl7Error;

/// Separates the frames of one answer when stored (FS never occurs in HL7 text:
/// it is the MLLP end-block character).
const FRAME_SEP: u8 = 0x1C;

/// A fresh MSH-10 for an ACK: 20 characters (the ST length of MSH-10 up to
/// v2.6), time-ordered, from a UUIDv7.
pub fn ack_control_id() -> String {
    let hex = uuid::Uuid::now_v7().simple().to_string();
    hex.get(..20).unwrap_or(&hex).to_ascii_uppercase()
}

/// MSH-7 of an ACK: DTM to the second with its offset.
pub fn now_ts() -> String {
    Utc::now().format("%Y%m%d%H%M%S+0000").to_string()
}

pub fn join(frames: &[Vec<u8>]) -> Vec<u8> {
    frames.join(&FRAME_SEP)
}

pub fn split(stored: &[u8]) -> Vec<Vec<u8>> {
    if stored.is_empty() {
        return Vec::new();
    }
    stored
        .split(|b| *b == FRAME_SEP)
        .map(<[u8]>::to_vec)
        .collect()
}

/// The frames answering `msg` with `outcome` (and its errors).
pub fn frames(msg: &Message, outcome: Outcome, errors: &[AckError]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let committed = if outcome == Outcome::Rejected {
        Outcome::Rejected
    } else {
        Outcome::Accepted
    };
    if a::wants_accept_ack(msg, committed) {
        out.push(a::build_ack(
            msg,
            committed.accept_code(),
            &[],
            &ack_control_id(),
            &now_ts(),
        ));
    }
    if a::wants_application_ack(msg, outcome) {
        out.push(a::build_ack(
            msg,
            outcome.application_code(),
            errors,
            &ack_control_id(),
            &now_ts(),
        ));
    }
    out
}

pub fn accepted(msg: &Message) -> Vec<Vec<u8>> {
    frames(msg, Outcome::Accepted, &[])
}

pub fn for_error(msg: &Message, err: &Hl7Error) -> Vec<Vec<u8>> {
    frames(msg, err.outcome, &err.errors)
}

/// An AR for bytes that did not parse (2.9.2: "unacceptable").
pub fn for_parse_error(raw: &[u8], e: &ParseError) -> (Hl7Error, Vec<Vec<u8>>) {
    let err = a::error_for(raw, e);
    let summary = format!(
        "message refused by the parser ({} {})",
        err.code.code(),
        err.code.text()
    );
    let ack = a::reject_unparsed(raw, e, &ack_control_id(), &now_ts());
    (
        Hl7Error {
            outcome: Outcome::Rejected,
            errors: vec![err],
            summary,
        },
        vec![ack],
    )
}

/// The header checks of 2.9.2 (version, processing id): any failure is an AR.
pub fn check_header(msg: &Message) -> Result<(), Hl7Error> {
    let errors = a::check_header(msg);
    let Some(first) = errors.first() else {
        return Ok(());
    };
    Err(Hl7Error {
        outcome: Outcome::Rejected,
        summary: format!(
            "header refused ({} {})",
            first.code.code(),
            first.code.text()
        ),
        errors,
    })
}

/// A mapping failure: AR when the message can never be processed as sent
/// (unsupported type or event), else AE.
pub fn map_error(e: &fhirgate_v2fhir::MapError) -> Hl7Error {
    use fhirgate_v2fhir::ErrorCode as M;
    let code = match e.code {
        M::SegmentSequenceError => ErrorCode::SegmentSequenceError,
        M::RequiredFieldMissing => ErrorCode::RequiredFieldMissing,
        M::DataTypeError => ErrorCode::DataTypeError,
        M::TableValueNotFound => ErrorCode::TableValueNotFound,
        M::UnsupportedMessageType => ErrorCode::UnsupportedMessageType,
        M::UnsupportedEventCode => ErrorCode::UnsupportedEventCode,
        M::ApplicationInternalError => ErrorCode::ApplicationError,
    };
    let l = &e.location;
    let location = ErrorLocation {
        segment: l.segment.clone(),
        sequence: l.sequence,
        field: l.field,
        repetition: l.repetition,
        component: l.component,
        subcomponent: None,
    };
    Hl7Error {
        outcome: if e.code.is_reject() {
            Outcome::Rejected
        } else {
            Outcome::Error
        },
        errors: vec![AckError::new(code, Some(location), e.message.clone())],
        // MapError's text names fields, never their values (crates/fhirgate-v2fhir).
        summary: e.to_string(),
    }
}

/// The batch of acknowledgements answering a batch (2.10.3: the receiver
/// returns its ACKs in a batch of its own): BHS with sending and receiving
/// swapped and BHS-12 naming the batch answered (its BHS-11), the ACKs, and
/// BTS-1 their count.
pub fn batch_reply(batch: &fhirgate_hl7::Batch, acks: &[Vec<u8>]) -> Vec<u8> {
    let header = batch
        .batches
        .iter()
        .find_map(|b| b.header.as_deref())
        .or(batch.file_header.as_deref())
        .map(|h| String::from_utf8_lossy(h).into_owned())
        .unwrap_or_default();
    // Fields of the original BHS/FHS, which the parser has not decoded: copied as
    // sent (they are already escaped with the sender's separators, and we answer
    // with the same standard separators or copy nothing).
    let fields: Vec<&str> = header.trim_end_matches(['\r', '\n']).split('|').collect();
    let f = |n: usize| fields.get(n - 1).copied().unwrap_or("");
    let standard = f(2) == "^~\\&" || f(2).starts_with("^~\\&");
    let g = |n: usize| if standard { f(n) } else { "" };
    let mut out = format!(
        "BHS|^~\\&|{}|{}|{}|{}|{}||||{}|{}\r",
        g(5),
        g(6),
        g(3),
        g(4),
        now_ts(),
        ack_control_id(),
        g(11)
    )
    .into_bytes();
    for a in acks {
        out.extend_from_slice(a);
    }
    out.extend_from_slice(format!("BTS|{}\r", acks.len()).as_bytes());
    out
}
