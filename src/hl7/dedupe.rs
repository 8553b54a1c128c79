//! Is a message with an accepted control id the same message again?
//!
//! HL7 v2.5.1 2.15.9.10 makes MSH-10 unique per sender, and a sender resends
//! a message it got no ACK for (2.9.2); but senders that restart their
//! counters reuse control ids for new messages. So an accepted control id is
//! answered with the original ACK only when the message itself is the same
//! (its resend form, `fhirgate_hl7::resend_form`, compared by a keyed digest);
//! another message under it is not applied and gets AE with ERR-3 205
//! "Duplicate key identifier" (table 0357) at MSH-10, so that it never
//! vanishes behind an AA the sender would take for its own.

use diesel::pg::PgConnection;
use fhirgate_hl7::ack::{AckError, ErrorCode, ErrorLocation, Outcome};

use super::Hl7Error;
use crate::crypto::{BlindIndex, Keyring};
use crate::store::hl7::{self as messages, Content, Sender};
use crate::store::StoreError;
use crate::tenant::TenantId;

/// The blind-index column of message digests: its own key, so a digest
/// matches nothing but another message's digest.
const COLUMN: &str = "hl7|message|digest";

/// The keyed digest of `raw`'s resend form.
pub fn digest(
    conn: &mut PgConnection,
    keyring: &Keyring,
    tenant: &TenantId,
    raw: &[u8],
) -> Result<BlindIndex, StoreError> {
    let ix = keyring.indexer(conn, tenant.as_str())?;
    Ok(ix.digest(COLUMN, &fhirgate_hl7::resend_form(raw)))
}

/// What an accepted control id means for a message that arrives under it.
pub enum Seen {
    /// The same message again: these are the frames it was answered with.
    Same(Vec<u8>),
    /// Another message: it must not be applied.
    Other,
}

/// Compares the message `digest` with the one accepted from `sender` under
/// `control_id`, if any.
pub fn seen(
    conn: &mut PgConnection,
    keyring: &Keyring,
    tenant: &TenantId,
    sender: &Sender,
    control_id: &str,
    digest: &BlindIndex,
) -> Result<Option<Seen>, StoreError> {
    let Some(first) = messages::accepted(conn, keyring, tenant, sender, control_id)? else {
        return Ok(None);
    };
    let same = match &first.content {
        Content::Digest(d) => d == digest,
        Content::Raw(raw) => self::digest(conn, keyring, tenant, &raw.0)? == *digest,
    };
    Ok(Some(if same {
        Seen::Same(first.ack.0)
    } else {
        Seen::Other
    }))
}

/// The AE for another message under an accepted control id.
pub fn conflict() -> Hl7Error {
    Hl7Error {
        outcome: Outcome::Error,
        errors: vec![AckError::new(
            ErrorCode::DuplicateKeyIdentifier,
            Some(ErrorLocation::field("MSH", 1, 10)),
            "this control id (MSH-10) was already used by this sender for another message, \
             which was accepted; this message was not applied: send it under a new control id",
        )],
        summary: "control id already used for another accepted message (205 Duplicate key identifier at MSH-10)".into(),
    }
}
