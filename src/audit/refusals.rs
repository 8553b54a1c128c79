//! Refusals over a rate limit, audited in aggregate (issue #18, fairness).
//!
//! A tenant flooding the gateway past its limit is refused thousands of times
//! a second (docs/performance.md: ~15,000/s, 1.18 million AuditEvents in one
//! 20 s flood). One AuditEvent each would make the flood's cost land on the
//! audit writer and the database that every other tenant shares. So the first
//! refusal of a client's interaction is recorded in full, as any other, and
//! the ones that follow within [`WINDOW`] are counted; the count is recorded
//! as one more AuditEvent, with the `period` they fell in and the count in
//! `outcomeDesc` (R4 AuditEvent: "When the activity occurred", "Description
//! of the event outcome"), when the window closes. Every refusal is
//! accounted for; none is recorded twice.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::{AuditRecord, Interaction};

/// How long the refusals after a client's first are counted.
pub const WINDOW: Duration = Duration::from_secs(10);
/// Windows open at once, at most; past it, each refusal is recorded in full.
const MAX_OPEN: usize = 10_000;

/// Refusals counted into one AuditEvent.
#[derive(Debug, Clone, PartialEq)]
pub struct Repeated {
    pub count: u64,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
}

struct Window {
    opened: Instant,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    count: u64,
    /// The refusal that opened the window: who and what the summary names.
    sample: AuditRecord,
}

impl Window {
    /// The AuditEvent of the counted refusals (none when none was counted).
    /// It names the client and the interaction, which all of them share, and
    /// nothing that may differ between them (resource, query, user, address).
    fn summary(self) -> Option<AuditRecord> {
        if self.count == 0 {
            return None;
        }
        let mut r = AuditRecord::new(self.sample.interaction);
        r.client_id = self.sample.client_id;
        r.status = self.sample.status;
        r.repeated = Some(Repeated {
            count: self.count,
            first: self.first,
            last: self.last,
        });
        Some(r)
    }
}

/// The open windows of one tenant, by (client, interaction).
#[derive(Default)]
pub struct RefusalTally {
    open: Mutex<HashMap<(Option<String>, Interaction), Window>>,
}

impl RefusalTally {
    /// What to record for one more refusal: itself when it opens a window, and
    /// the summary of the window it replaces; nothing when it is counted.
    pub fn note(&self, record: AuditRecord) -> Vec<AuditRecord> {
        self.note_at(Instant::now(), Utc::now(), record)
    }

    fn note_at(&self, now: Instant, at: DateTime<Utc>, record: AuditRecord) -> Vec<AuditRecord> {
        let Ok(mut open) = self.open.lock() else {
            return vec![record];
        };
        let key = (record.client_id.clone(), record.interaction);
        if let Some(w) = open.get_mut(&key) {
            if now.saturating_duration_since(w.opened) < WINDOW {
                w.count += 1;
                w.last = at;
                return Vec::new();
            }
        }
        let mut out: Vec<AuditRecord> = open
            .remove(&key)
            .and_then(Window::summary)
            .into_iter()
            .collect();
        if open.len() < MAX_OPEN {
            let window = Window {
                opened: now,
                first: at,
                last: at,
                count: 0,
                sample: record.clone(),
            };
            open.insert(key, window);
        }
        out.push(record);
        out
    }

    /// Closes the windows open for [`WINDOW`] or more (all of them when
    /// `all`, at shutdown) and answers their summaries.
    pub fn close(&self, all: bool) -> Vec<AuditRecord> {
        self.close_at(Instant::now(), all)
    }

    fn close_at(&self, now: Instant, all: bool) -> Vec<AuditRecord> {
        let Ok(mut open) = self.open.lock() else {
            return Vec::new();
        };
        let done: Vec<_> = open
            .iter()
            .filter(|(_, w)| all || now.saturating_duration_since(w.opened) >= WINDOW)
            .map(|(k, _)| k.clone())
            .collect();
        done.into_iter()
            .filter_map(|k| open.remove(&k))
            .filter_map(Window::summary)
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn refused(client: Option<&str>, id: &str) -> AuditRecord {
        let mut r = AuditRecord::new(Interaction::Read);
        r.client_id = client.map(str::to_owned);
        r.resource_type = Some("Patient".into());
        r.id = Some(id.into());
        r.client_addr = Some("10.0.0.1".into());
        r.status = 429;
        r
    }

    #[test]
    fn the_first_is_recorded_the_rest_counted_then_summed_up() {
        let tally = RefusalTally::default();
        let (t0, at) = (Instant::now(), Utc::now());
        let first = tally.note_at(t0, at, refused(Some("app"), "1"));
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].id.as_deref(), Some("1"));
        assert!(first[0].repeated.is_none());
        for i in 0..99u64 {
            let later = at + chrono::Duration::milliseconds(i as i64);
            let t = t0 + Duration::from_millis(i);
            assert!(tally
                .note_at(t, later, refused(Some("app"), "2"))
                .is_empty());
        }
        // Another client has its own window.
        assert_eq!(tally.note_at(t0, at, refused(None, "3")).len(), 1);
        // Not closed before WINDOW.
        assert!(tally
            .close_at(t0 + Duration::from_secs(9), false)
            .is_empty());
        let closed = tally.close_at(t0 + WINDOW, false);
        assert_eq!(closed.len(), 1, "the other client's window counted nothing");
        let sum = &closed[0];
        let rep = sum.repeated.as_ref().unwrap();
        assert_eq!(rep.count, 99);
        assert_eq!(rep.first, at);
        assert_eq!(rep.last, at + chrono::Duration::milliseconds(98));
        assert_eq!(sum.client_id.as_deref(), Some("app"));
        assert_eq!(sum.status, 429);
        // Nothing that differs between the counted refusals.
        assert!(sum.id.is_none() && sum.resource_type.is_none() && sum.client_addr.is_none());
        // After the window, the next refusal opens a new one, recorded in full.
        let next = tally.note_at(t0 + WINDOW + WINDOW, at, refused(Some("app"), "4"));
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].id.as_deref(), Some("4"));
    }

    #[test]
    fn a_refusal_after_the_window_records_the_summary_it_closes() {
        let tally = RefusalTally::default();
        let (t0, at) = (Instant::now(), Utc::now());
        tally.note_at(t0, at, refused(Some("app"), "1"));
        tally.note_at(t0, at, refused(Some("app"), "2"));
        let out = tally.note_at(t0 + WINDOW, at, refused(Some("app"), "3"));
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].repeated.as_ref().map(|r| r.count), Some(1));
        assert_eq!(out[1].id.as_deref(), Some("3"));
        // Shutdown closes what is open, counted or not.
        tally.note_at(t0 + WINDOW, at, refused(Some("app"), "4"));
        let closed = tally.close_at(t0 + WINDOW, true);
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].repeated.as_ref().map(|r| r.count), Some(1));
    }
}
