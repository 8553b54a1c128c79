//! The messages an [`Ingestor`] does not apply: refused (AR), not applied
//! (AE), a control id reused for another message, and (for the server-level
//! ingest) messages no tenant claims. Each is stored raw with its outcome and
//! ACK, in its own transaction, and audited, before the ACK goes out (HL7
//! v2.5.1 section 2.9.2: the receiver answers once it has stored).

use std::sync::atomic::Ordering;

use fhirgate_hl7::ack::Outcome;
use fhirgate_hl7::{Message, ParseError};

use super::ack;
use super::dedupe::{self, Seen};
use super::ingest::{received_of, Ingestor};
use super::senders::sender_of;
use super::Hl7Error;
use crate::audit::{AuditRecord, Interaction};
use crate::store::hl7::{self as messages, Sender};
use crate::store::StoreError;

impl Ingestor {
    /// A message no tenant claims (issue #18), answered by the server-level
    /// ingest: kept raw under `_server` with its AR. A message that is not
    /// HL7, or whose header is unacceptable, gets that refusal rather than
    /// `no_tenant`: it would get it at any tenant.
    pub async fn unrouted(
        &self,
        raw: Vec<u8>,
        parsed: Result<Message, ParseError>,
        no_tenant: &Hl7Error,
        peer: Option<String>,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let _in_flight = self.arrived(raw.len());
        let msg = match parsed {
            Ok(msg) => msg,
            Err(pe) => {
                let (err, frames) = ack::for_parse_error(&raw, &pe);
                return self.refused(&raw, None, &err, frames, peer).await;
            }
        };
        let err = match ack::check_header(&msg) {
            Err(header) => header,
            Ok(()) => {
                tracing::warn!(control_id = %msg.control_id(), reason = %no_tenant.summary,
                    "HL7 message for no tenant; answered AR and kept under the server scope");
                no_tenant.clone()
            }
        };
        let frames = ack::for_error(&msg, &err);
        self.refused(&raw, Some(&msg), &err, frames, peer).await
    }

    /// How the message accepted under `control` from `sender`, if any,
    /// compares with `raw`.
    pub(super) async fn seen_before(
        &self,
        sender: &Sender,
        control: &str,
        raw: &[u8],
    ) -> Result<Option<Seen>, StoreError> {
        let (svc, s, c, raw) = (
            self.keys(),
            sender.clone(),
            control.to_owned(),
            raw.to_vec(),
        );
        self.db()
            .run(move |conn| {
                let digest = dedupe::digest(conn, &svc.keyring, &svc.tenant, &raw)?;
                dedupe::seen(conn, &svc.keyring, &svc.tenant, &s, &c, &digest)
            })
            .await
    }

    /// Refuses another message under an accepted control id (AE), counted.
    pub(super) async fn conflict(
        &self,
        raw: &[u8],
        msg: &Message,
        peer: Option<String>,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let m = &self.metrics.hl7;
        m.control_id_conflicts.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(control_id = %msg.control_id(), "HL7 control id reused for another message; answered AE");
        let err = dedupe::conflict();
        let frames = ack::for_error(msg, &err);
        self.refused(raw, Some(msg), &err, frames, peer).await
    }

    /// Stores a message that was not applied (AR or AE), audits it, and returns its ACK.
    pub(super) async fn refused(
        &self,
        raw: &[u8],
        msg: Option<&Message>,
        err: &Hl7Error,
        frames: Vec<Vec<u8>>,
        peer: Option<String>,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let status = match err.outcome {
            Outcome::Rejected => 400,
            _ => 422,
        };
        self.refused_as(raw, msg, err, frames, peer, status).await
    }

    /// [`Self::refused`], audited with `status` (429 for a full queue).
    pub(super) async fn refused_as(
        &self,
        raw: &[u8],
        msg: Option<&Message>,
        err: &Hl7Error,
        frames: Vec<Vec<u8>>,
        peer: Option<String>,
        status: u16,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let m = &self.metrics.hl7;
        let counts = self.counts();
        match err.outcome {
            Outcome::Rejected => {
                m.rejected.fetch_add(1, Ordering::Relaxed);
                counts.rejected.fetch_add(1, Ordering::Relaxed)
            }
            _ => {
                m.errored.fetch_add(1, Ordering::Relaxed);
                counts.errored.fetch_add(1, Ordering::Relaxed)
            }
        };
        tracing::info!(tenant = %self.tenant, ack = err.ack_code(), code = err.code(), reason = %err.summary, "HL7 message not applied");
        let svc = self.keys();
        let sender = msg.map_or_else(|| Sender("|".into()), sender_of);
        let received = received_of(msg, sender, peer.clone());
        let (raw, stored, code, summary) = (
            raw.to_vec(),
            ack::join(&frames),
            err.ack_code(),
            err.summary.clone(),
        );
        self.db()
            .run(move |conn| {
                let digest = dedupe::digest(conn, &svc.keyring, &svc.tenant, &raw)?;
                let row = received.row(&raw, &digest, code, &stored, Some(&summary));
                messages::insert(conn, &svc.keyring, &svc.tenant, &row)
            })
            .await?;
        let mut record = AuditRecord::new(Interaction::Transaction);
        record.client_addr = peer;
        record.status = status;
        self.engine.record_unparsed(record).await;
        Ok(frames)
    }
}
