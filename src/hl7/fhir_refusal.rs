//! A FHIR transaction's refusal as the HL7 v2 answer to the message it came
//! from: an AE (the message was understood, section 2.9.2) with ERR-3 from
//! table 0357 and the OperationOutcome's diagnostics in ERR-8.

use fhirgate_hl7::ack::{AckError, ErrorCode, Outcome};

use super::Hl7Error;
use crate::fhir::error::FhirError;

/// A FHIR transaction failure, as an AE (the message was understood). ERR-8
/// carries the OperationOutcome's diagnostics back to the sender; the summary
/// kept and logged has only the status.
pub(super) fn from_fhir(e: &FhirError) -> Hl7Error {
    let status = e.status().as_u16();
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
    let (code, kind) = match (e, status) {
        // Table 0357 has no "business rule" code: 207 with the rule in ERR-8.
        (FhirError::BusinessRule(_), _) => (
            ErrorCode::ApplicationError,
            "refused by a business rule (e.g. a double booking)",
        ),
        (_, 409) => (
            ErrorCode::ApplicationRecordLocked,
            "a concurrent change of the same record",
        ),
        (_, 412) => (
            ErrorCode::UnknownKeyIdentifier,
            "a referenced patient or practitioner is ambiguous",
        ),
        (_, 500..=599) => (ErrorCode::ApplicationError, "internal error"),
        _ => (
            ErrorCode::ApplicationError,
            "resources made from the message are not valid R4",
        ),
    };
    let text = if status >= 500 || diagnostics.is_empty() {
        format!("the message could not be applied: {kind}")
    } else {
        format!("the message could not be applied: {diagnostics}")
    };
    Hl7Error {
        outcome: Outcome::Error,
        errors: vec![AckError::new(code, None, text)],
        summary: format!("FHIR transaction refused with {status}: {kind}"),
    }
}
