//! Whether the database answers, as the pool last saw it (issue #15,
//! "Availability"): a PostgreSQL restart or outage must give clients a quick
//! 503, not a 10 s wait and a 500, and the log one line when it starts and one
//! when it ends, not one per request or per reconnection attempt.
//!
//! The pool's reconnection attempts report here: r2d2 calls its error handler
//! for every failed connection attempt (it retries in the background with a
//! back-off until one succeeds) and its event handler's `handle_acquire` for
//! every connection made. The first failure marks the database down; the
//! first connection made after that marks it up again. While it is down
//! [`super::Db::run`] answers at once with [`super::StoreError::Pool`] instead
//! of waiting for a connection, and wakes the requests already queued.

use std::sync::Mutex;
use std::time::Instant;

use diesel::r2d2::event::AcquireEvent;
use diesel::r2d2::{HandleError, HandleEvent};
use tokio::sync::watch;

#[derive(Debug)]
pub struct Health {
    /// true while the database is unreachable; watched by queued requests.
    down: watch::Sender<bool>,
    /// When the current outage began (None: no outage).
    since: Mutex<Option<Instant>>,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            down: watch::Sender::new(false),
            since: Mutex::new(None),
        }
    }
}

impl Health {
    pub fn is_down(&self) -> bool {
        *self.down.borrow()
    }

    /// A receiver that sees the database go down (`wait_for(|d| *d)`).
    pub fn watch(&self) -> watch::Receiver<bool> {
        self.down.subscribe()
    }

    /// The database could not be reached: logged once per outage. `why` is
    /// libpq's message (host, socket, errno), never a query or a value.
    pub fn lost(&self, why: &str) {
        let Ok(mut since) = self.since.lock() else {
            return;
        };
        if since.is_none() {
            *since = Some(Instant::now());
            self.down.send_replace(true);
            tracing::error!(error = %why, "database unreachable: FHIR requests get 503 and HL7 messages are closed without ACK until it answers again");
        }
    }

    /// A connection was made: the outage, if any, is over (logged once).
    pub fn back(&self) {
        let Ok(mut since) = self.since.lock() else {
            return;
        };
        if let Some(start) = since.take() {
            self.down.send_replace(false);
            tracing::warn!(
                after_secs = start.elapsed().as_secs(),
                "database reachable again"
            );
        }
    }
}

/// The pool's error handler: a failed connection attempt. r2d2's default
/// logs every attempt (every 0.2 to 1 s per pending connection while the
/// server is down); this reports to [`Health`], which logs once.
#[derive(Debug)]
pub struct ConnectFailed(pub std::sync::Arc<Health>);

impl HandleError<diesel::r2d2::Error> for ConnectFailed {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        tracing::debug!(error = %error, "database connection attempt failed");
        self.0.lost(&error.to_string());
    }
}

/// The pool's event handler: a connection was made.
#[derive(Debug)]
pub struct Connected(pub std::sync::Arc<Health>);

impl HandleEvent for Connected {
    fn handle_acquire(&self, _event: AcquireEvent) {
        self.0.back();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn down_until_a_connection_is_made() {
        let h = Health::default();
        assert!(!h.is_down());
        h.back();
        assert!(!h.is_down());
        h.lost("connection refused");
        h.lost("connection refused");
        assert!(h.is_down());
        assert!(h.watch().borrow().to_owned());
        h.back();
        assert!(!h.is_down());
    }
}
