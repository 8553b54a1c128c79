//! Back-pressure on HL7 v2 senders (issue #18): a message waits for its
//! tenant's and its sender's rate limit before it is applied, so its ACK comes
//! later and the sender, which waits for each ACK before sending the next
//! message (MLLP, HL7 v2.5.1 Appendix C), slows down. Nothing is refused for
//! its rate: a refusal would be resent at once. Only when as many messages
//! of the tenant are waiting as its queue allows is one answered AE at once,
//! with ERR-3 207 (table 0357, application internal error) and a text asking
//! for a resend later; it is stored as not applied, so the resend is a new
//! delivery, not a duplicate (dedupe.rs looks at accepted messages only).

use std::sync::atomic::Ordering;

use fhirgate_hl7::ack::{AckError, ErrorCode, Outcome};

use super::ingest::Ingestor;
use super::Hl7Error;
use crate::fhir::engine::cost;
use crate::store::hl7::Sender;

/// The status a queue-full message is audited with: RFC 6585 section 4, as
/// an HTTP client would have been answered.
pub(super) const AUDIT_STATUS: u16 = 429;

impl Ingestor {
    /// Waits for the tokens of a message from `sender` whose mapped Bundle is
    /// `bundle`: the Bundle costs what it would over HTTP (`cost.rs`: the
    /// sum of its entries), so HTTP and HL7 share the tenant's budget in one
    /// unit. Err: the tenant's queue is full; answer the message with it.
    pub(super) async fn throttle(
        &self,
        sender: &Sender,
        bundle: &serde_json::Value,
    ) -> Result<(), Hl7Error> {
        let cost = cost::bundle_cost(bundle);
        let limiter = self.engine.limiter();
        let m = &self.metrics.hl7;
        match limiter
            .take_waiting(&self.tenant, Some(&sender.0), cost)
            .await
        {
            Ok(waited) => {
                if !waited.is_zero() {
                    m.rate_delayed.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(tenant = %self.tenant, cost, waited_ms = waited.as_millis(),
                        "HL7 message waited for the rate limit");
                }
                Ok(())
            }
            Err(_) => {
                m.rate_queue_full.fetch_add(1, Ordering::Relaxed);
                let queue = limiter.rates(&self.tenant).hl7_queue;
                tracing::warn!(tenant = %self.tenant, queue,
                    "HL7 message answered AE: the tenant's queue of messages waiting for its rate limit is full");
                Err(queue_full(queue))
            }
        }
    }
}

/// AE (the message was understood, not applied: HL7 v2.5.1 2.9.2), which the
/// sender may resend.
fn queue_full(queue: usize) -> Hl7Error {
    Hl7Error {
        outcome: Outcome::Error,
        errors: vec![AckError::new(
            ErrorCode::ApplicationError,
            None,
            format!(
                "the message was not applied: the queue of messages waiting for this tenant's rate limit is full ({queue}); resend it later"
            ),
        )],
        summary: "rate limit: the tenant's queue of waiting messages is full".into(),
    }
}
