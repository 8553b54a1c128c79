//! A FHIR engine refusal as the HL7 v2 answer to the message it came from: an
//! AE (the message was understood, section 2.9.2) with ERR-3 from table 0357
//! and the OperationOutcome's diagnostics in ERR-8, chosen by the kind of the
//! engine's error (never by an HTTP status).

use fhirgate_hl7::ack::{AckError, ErrorCode, Outcome};

use super::Hl7Error;
use crate::fhir::error::FhirError;

/// A FHIR transaction failure, as an AE (the message was understood), or AR
/// when the sender may not write what the message holds. ERR-8 carries the
/// OperationOutcome's diagnostics back to the sender; the summary kept and
/// logged has only the kind.
pub(super) fn from_fhir(e: &FhirError) -> Hl7Error {
    let diagnostics = e
        .to_operation_outcome()
        .get("issue")
        .and_then(|i| i.as_array())
        .map(|issues| {
            issues
                .iter()
                .filter_map(|i| i.get("diagnostics").and_then(|d| d.as_str()))
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default();
    let mut outcome = Outcome::Error;
    let (code, kind, internal) = match e {
        // Table 0357 has no "business rule" code: 207 with the rule in ERR-8.
        FhirError::BusinessRule(_) => (
            ErrorCode::ApplicationError,
            "refused by a business rule (e.g. a double booking)",
            false,
        ),
        FhirError::Conflict(_) => (
            ErrorCode::ApplicationRecordLocked,
            "a concurrent change of the same record",
            false,
        ),
        FhirError::PreconditionFailed(_) => (
            ErrorCode::UnknownKeyIdentifier,
            "a referenced patient or practitioner is ambiguous",
            false,
        ),
        // Not permitted is not a fault of the content: the message is
        // rejected (AR, section 2.9.2), and resending it will not help.
        FhirError::Forbidden(_) => {
            outcome = Outcome::Rejected;
            (
                ErrorCode::ApplicationError,
                "the sender may not write what the message holds",
                false,
            )
        }
        FhirError::Internal(_)
        | FhirError::Unavailable(_)
        | FhirError::Transient(_)
        | FhirError::Busy(_) => (ErrorCode::ApplicationError, "internal error", true),
        // The listener waits for tokens rather than being refused (ingest.rs),
        // but should a refusal come: AE 207, which a sender may resend.
        FhirError::TooManyRequests(_) => (
            ErrorCode::ApplicationError,
            "the tenant's rate limit is spent; resend the message later",
            true,
        ),
        _ => (
            ErrorCode::ApplicationError,
            "resources made from the message are not valid R4",
            false,
        ),
    };
    let text = if internal || diagnostics.is_empty() {
        format!("the message could not be applied: {kind}")
    } else {
        format!("the message could not be applied: {diagnostics}")
    };
    Hl7Error {
        outcome,
        errors: vec![AckError::new(code, None, text)],
        summary: format!("FHIR transaction refused: {kind}"),
    }
}
