//! HL7 v2 over MLLP (issue #5): the listeners, ingest of each message as one
//! FHIR transaction, the stored raw messages, and the `fhirgate hl7` commands.
//!
//! Error policy: every failure an HL7 sender can see is an [`Hl7Error`], and
//! every `Hl7Error` becomes an acknowledgement (HL7 v2.5.1 section 2.9): AR
//! when the message is unacceptable (not HL7, bad MSH, an unsupported version,
//! type or processing id), AE when it was understood but could not be applied,
//! each with an ERR segment (2.15.5: location, table 0357 code, severity and a
//! readable message). The ERR text goes back to the sender that sent the data;
//! what we keep in plaintext (`hl7_messages.error`, logs) is only the code and
//! kind, never a value from the message. A message that cannot even be stored
//! gets no ACK at all: the connection is closed so that the sender resends it.

pub mod ack;
mod backpressure;
pub mod config;
pub mod dedupe;
mod fhir_refusal;
pub mod gate;
pub mod ingest;
pub mod listener;
pub mod metrics;
mod refuse;
pub mod replay;
pub mod route;
pub mod router;
pub mod send;
mod senders;
pub mod unrouted;

use fhirgate_hl7::ack::{AckError, Outcome};

/// The HL7 boundary error: why a message was not applied, as its ACK will say.
#[derive(Debug, Clone)]
pub struct Hl7Error {
    /// `Rejected` (AR) or `Error` (AE); never `Accepted`.
    pub outcome: Outcome,
    /// One ERR segment each (location, table 0357 code, severity, ERR-8 text).
    pub errors: Vec<AckError>,
    /// What may be kept in plaintext and logged: codes and field names, no value
    /// from the message.
    pub summary: String,
}

impl Hl7Error {
    pub fn ack_code(&self) -> &'static str {
        self.outcome.application_code().as_str()
    }

    /// Table 0357 code of the first error.
    pub fn code(&self) -> u16 {
        self.errors.first().map_or(207, |e| e.code.code())
    }
}
