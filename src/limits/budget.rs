//! The memory budget of request bodies being read and parsed at once.
//!
//! A body costs far more memory parsed than as bytes (up to about 80 times for
//! a body of tiny objects, and validation and writing keep the tree), and the
//! body limit bounds one request, not many: four 12 MB bodies took the process
//! from 376 MB to 4.6 GB (issue #15). So every request that reads a body first
//! takes its size (Content-Length, or the body limit when the size is not
//! declared, given back down to the real size once read) from one budget of
//! bytes shared by all requests, and holds it until its handler is done with the
//! body and what was parsed from it. A request that cannot have its share
//! within a short wait is answered 503 with Retry-After rather than queued
//! without end: a waiting request holds a connection and the client's unread
//! body, and under a flood of large bodies a bounded answer tells clients to
//! back off, where an unbounded queue only grows. The semaphore is fair (FIFO),
//! so a large body is not starved by a stream of small ones.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Permits are KiB: a semaphore takes at most u32::MAX permits at once.
const UNIT: usize = 1024;

#[derive(Debug)]
pub struct ParseBudget {
    sem: Arc<Semaphore>,
    units: usize,
    wait: Duration,
}

/// A share of the budget, given back when dropped.
#[derive(Debug)]
pub struct Charge(OwnedSemaphorePermit);

impl ParseBudget {
    pub fn new(bytes: usize, wait: Duration) -> Self {
        let units = bytes.div_ceil(UNIT).clamp(1, Semaphore::MAX_PERMITS);
        Self {
            sem: Arc::new(Semaphore::new(units)),
            units,
            wait,
        }
    }

    fn units_of(&self, bytes: usize) -> u32 {
        let n = bytes.div_ceil(UNIT).clamp(1, self.units);
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// Takes `bytes` of the budget (all of it at most), waiting up to the
    /// configured wait; None when the budget stayed too full.
    pub async fn take(&self, bytes: usize) -> Option<Charge> {
        let n = self.units_of(bytes);
        match tokio::time::timeout(self.wait, self.sem.clone().acquire_many_owned(n)).await {
            Ok(Ok(permit)) => Some(Charge(permit)),
            _ => None,
        }
    }

    /// How long a refused request is asked to wait (Retry-After), whole seconds.
    pub fn retry_after_secs(&self) -> u64 {
        self.wait.as_secs().max(1)
    }

    pub fn total_bytes(&self) -> u64 {
        (self.units * UNIT) as u64
    }

    pub fn in_use_bytes(&self) -> u64 {
        (self.units.saturating_sub(self.sem.available_permits()) * UNIT) as u64
    }
}

impl Charge {
    /// Gives back what is above `bytes` (a body of undeclared size, once read).
    pub fn shrink_to(&mut self, bytes: usize) {
        let keep = bytes.div_ceil(UNIT).max(1);
        let extra = self.0.num_permits().saturating_sub(keep);
        if extra > 0 {
            drop(self.0.split(extra));
        }
    }

    pub fn bytes(&self) -> usize {
        self.0.num_permits() * UNIT
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn shares_are_held_and_given_back() {
        let b = ParseBudget::new(10 * 1024, Duration::from_millis(50));
        let mut a = b.take(8 * 1024).await.unwrap();
        assert_eq!(b.in_use_bytes(), 8 * 1024);
        // 3 KiB more do not fit within the wait.
        assert!(b.take(3 * 1024).await.is_none());
        a.shrink_to(1000);
        assert_eq!(a.bytes(), 1024);
        let c = b.take(3 * 1024).await.unwrap();
        assert_eq!(b.in_use_bytes(), 4 * 1024);
        drop((a, c));
        assert_eq!(b.in_use_bytes(), 0);
        // More than the whole budget takes the whole budget, not forever.
        let all = b.take(1 << 30).await.unwrap();
        assert_eq!(all.bytes(), 10 * 1024);
    }
}
