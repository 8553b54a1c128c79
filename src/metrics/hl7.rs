//! HL7 listener counters, exposed with the gateway's other metrics at
//! `GET /metrics` in the Prometheus text format
//! (https://prometheus.io/docs/instrumenting/exposition_formats/).

use std::fmt::Write;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Hl7Metrics {
    pub received: AtomicU64,
    pub accepted: AtomicU64,
    pub errored: AtomicU64,
    pub rejected: AtomicU64,
    pub duplicates: AtomicU64,
    /// Messages under a control id already accepted for another message (AE).
    pub control_id_conflicts: AtomicU64,
    pub bytes: AtomicU64,
    /// Messages received and not yet acknowledged.
    pub queue_depth: AtomicI64,
    pub connections: AtomicI64,
    /// Refused at accept, over the overall cap or their address's (issue #15).
    pub connections_refused: AtomicU64,
    /// Of those, refused over their address's cap.
    pub connections_refused_address: AtomicU64,
    /// Idle connections closed to make room for an address holding fewer.
    pub connections_evicted: AtomicU64,
    /// Connections closed for sending no complete frame in time.
    pub first_frame_timeouts: AtomicU64,
    /// Failed accepts (EMFILE and the like), after which the listener backs off.
    pub accept_errors: AtomicU64,
    /// Bytes thrown away before a start block (MLLP framing noise).
    pub discarded_bytes: AtomicU64,
    /// Messages answered by closing the connection, without ACK, because the
    /// database was unavailable (the sender resends them).
    pub unavailable: AtomicU64,
    /// Messages whose ACK waited for their tenant's or sender's rate limit
    /// (issue #18: back-pressure).
    pub rate_delayed: AtomicU64,
    /// Messages answered AE because their tenant's queue of waiting messages
    /// was full.
    pub rate_queue_full: AtomicU64,
    /// Set while messages are being closed without ACK for an unavailable
    /// database, so that the outage is logged once, not once per message.
    pub db_outage: AtomicBool,
    /// The message counters again, per tenant (issue #18).
    pub by_tenant: super::hl7_tenants::Hl7ByTenant,
}

/// Holds one unit of a gauge (an open connection, a message in flight) until
/// dropped, so every way out of the holder's scope gives it back.
pub struct Held<'a>(&'a AtomicI64);

impl Held<'_> {
    pub fn enter(gauge: &AtomicI64) -> Held<'_> {
        gauge.fetch_add(1, Ordering::Relaxed);
        Held(gauge)
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Hl7Metrics {
    /// The Prometheus text exposition of every counter.
    pub fn render(&self, out: &mut String) {
        let counters: [(&str, &str, &AtomicU64); 16] = [
            ("received", "HL7 v2 messages received", &self.received),
            ("accepted", "messages answered AA (applied)", &self.accepted),
            (
                "errored",
                "messages answered AE (understood, not applied)",
                &self.errored,
            ),
            (
                "rejected",
                "messages answered AR (unacceptable)",
                &self.rejected,
            ),
            (
                "duplicates",
                "messages already accepted, answered with the original ACK",
                &self.duplicates,
            ),
            (
                "control_id_conflicts",
                "messages under a control id already accepted for another message, answered AE",
                &self.control_id_conflicts,
            ),
            ("bytes", "bytes of HL7 v2 messages received", &self.bytes),
            (
                "connections_refused",
                "MLLP connections refused at accept: over the overall cap or their address's",
                &self.connections_refused,
            ),
            (
                "connections_refused_address",
                "MLLP connections refused over the cap of their client address",
                &self.connections_refused_address,
            ),
            (
                "connections_evicted",
                "idle MLLP connections closed to make room for an address holding fewer",
                &self.connections_evicted,
            ),
            (
                "first_frame_timeouts",
                "MLLP connections closed for sending no complete frame in time",
                &self.first_frame_timeouts,
            ),
            (
                "accept_errors",
                "failed MLLP accepts (such as EMFILE), each followed by a back-off",
                &self.accept_errors,
            ),
            (
                "discarded_bytes",
                "bytes discarded outside MLLP frames",
                &self.discarded_bytes,
            ),
            (
                "unavailable",
                "messages closed without ACK because the database was unavailable",
                &self.unavailable,
            ),
            (
                "rate_delayed",
                "messages whose ACK waited for the rate limit of their tenant or sender",
                &self.rate_delayed,
            ),
            (
                "rate_queue_full",
                "messages answered AE because their tenant's queue of messages waiting for the rate limit was full",
                &self.rate_queue_full,
            ),
        ];
        for (name, help, v) in counters {
            let _ = writeln!(out, "# HELP fhirgate_hl7_{name}_total {help}");
            let _ = writeln!(out, "# TYPE fhirgate_hl7_{name}_total counter");
            let _ = writeln!(
                out,
                "fhirgate_hl7_{name}_total {}",
                v.load(Ordering::Relaxed)
            );
        }
        let gauges: [(&str, &str, &AtomicI64); 2] = [
            (
                "queue_depth",
                "messages received and not yet acknowledged",
                &self.queue_depth,
            ),
            ("connections", "open MLLP connections", &self.connections),
        ];
        for (name, help, v) in gauges {
            let _ = writeln!(out, "# HELP fhirgate_hl7_{name} {help}");
            let _ = writeln!(out, "# TYPE fhirgate_hl7_{name} gauge");
            let _ = writeln!(out, "fhirgate_hl7_{name} {}", v.load(Ordering::Relaxed));
        }
        self.by_tenant.render(out);
    }
}
