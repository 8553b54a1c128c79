//! Who may hold the MLLP listeners' connection slots (issue #15).
//!
//! A cap on open connections alone let 256 idle sockets from one address shut
//! every other HL7 sender out for the whole idle timeout. So besides the overall
//! cap there is a cap per client address, and a reserve: when the overall cap is
//! reached, a sender from an address holding fewer connections than another takes
//! the slot of that other address's longest-idle connection, which is closed.
//! Closing an idle MLLP connection loses nothing: a connection is idle only
//! between an acknowledgement and the next frame, and a sender whose message was
//! not acknowledged sends it again (HL7 v2.5.1 Appendix C.2.1, original mode).
//!
//! The victim comes from the address holding the most connections, and only when
//! it holds at least two more than the newcomer's address: the swap makes the
//! share more even and cannot flip back and forth between two addresses. A
//! newcomer from the address that holds the most is refused, as over the per
//! address cap: an address cannot push out its own connections, nor anyone
//! else's while it has the larger share.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use tokio::sync::Notify;

/// Why a connection was refused at accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Its address holds the per-address cap already.
    Address,
    /// The overall cap is reached and no connection could be evicted for it.
    Cap,
}

#[derive(Debug)]
pub struct MllpGate {
    cap: usize,
    per_address: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    total: usize,
    next_id: u64,
    by_ip: HashMap<IpAddr, HashMap<u64, Entry>>,
}

#[derive(Debug)]
struct Entry {
    /// Since when the connection waits for a frame; None while a message is
    /// being applied and answered.
    idle_since: Option<Instant>,
    evict: Arc<Notify>,
}

/// An admitted connection's slot, given back when dropped.
#[derive(Debug)]
pub struct Slot {
    gate: Arc<MllpGate>,
    ip: IpAddr,
    id: u64,
    evict: Arc<Notify>,
}

/// An admitted connection, and whether another was evicted for it.
#[derive(Debug)]
pub struct Admitted {
    pub slot: Slot,
    pub evicted: bool,
}

impl MllpGate {
    /// `per_address` is at most `cap`.
    pub fn new(cap: usize, per_address: usize) -> Self {
        let cap = cap.max(1);
        Self {
            cap,
            per_address: per_address.clamp(1, cap),
            state: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Admits a connection from `ip`, evicting another when the reserve rule
    /// above allows it, or refuses it.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Admitted, Refusal> {
        let mut s = self.lock();
        let mine = s.by_ip.get(&ip).map_or(0, HashMap::len);
        if mine >= self.per_address {
            return Err(Refusal::Address);
        }
        let mut evicted = false;
        if s.total >= self.cap {
            let (vip, vid) = s.victim(ip, mine).ok_or(Refusal::Cap)?;
            if let Some(e) = s.remove(vip, vid) {
                e.evict.notify_one();
            }
            evicted = true;
        }
        let id = s.next_id;
        s.next_id += 1;
        let evict = Arc::new(Notify::new());
        s.by_ip.entry(ip).or_default().insert(
            id,
            Entry {
                idle_since: Some(Instant::now()),
                evict: evict.clone(),
            },
        );
        s.total += 1;
        Ok(Admitted {
            slot: Slot {
                gate: self.clone(),
                ip,
                id,
                evict,
            },
            evicted,
        })
    }
}

impl State {
    /// The longest-idle connection of the address holding the most, if that
    /// address holds at least two more than the newcomer's (`mine`).
    fn victim(&self, newcomer: IpAddr, mine: usize) -> Option<(IpAddr, u64)> {
        self.by_ip
            .iter()
            .filter(|(ip, conns)| **ip != newcomer && conns.len() >= mine + 2)
            .filter_map(|(ip, conns)| {
                let (id, since) = conns
                    .iter()
                    .filter_map(|(id, e)| e.idle_since.map(|t| (*id, t)))
                    .min_by_key(|(id, t)| (*t, *id))?;
                Some((conns.len(), std::cmp::Reverse(since), *ip, id))
            })
            .max_by_key(|(len, since, _, _)| (*len, *since))
            .map(|(_, _, ip, id)| (ip, id))
    }

    fn remove(&mut self, ip: IpAddr, id: u64) -> Option<Entry> {
        let conns = self.by_ip.get_mut(&ip)?;
        let entry = conns.remove(&id)?;
        if conns.is_empty() {
            self.by_ip.remove(&ip);
        }
        self.total = self.total.saturating_sub(1);
        Some(entry)
    }
}

impl Slot {
    fn set_idle(&self, idle: bool) {
        let mut s = self.gate.lock();
        if let Some(e) = s.by_ip.get_mut(&self.ip).and_then(|c| c.get_mut(&self.id)) {
            e.idle_since = idle.then(Instant::now);
        }
    }

    /// A message is being applied and answered: not to be evicted meanwhile.
    pub fn busy(&self) {
        self.set_idle(false);
    }

    /// Waiting for the next frame again.
    pub fn idle(&self) {
        self.set_idle(true);
    }

    /// Resolves when the slot was given to another connection: close then.
    pub async fn evicted(&self) {
        self.evict.notified().await;
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        // An evicted slot was removed when it was taken.
        self.gate.lock().remove(self.ip, self.id);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[test]
    fn per_address_cap_refuses_and_a_slot_given_back_is_free() {
        let g = Arc::new(MllpGate::new(10, 2));
        let a = g.admit(ip(1)).unwrap();
        let _b = g.admit(ip(1)).unwrap();
        assert_eq!(g.admit(ip(1)).unwrap_err(), Refusal::Address);
        assert!(g.admit(ip(2)).is_ok());
        drop(a);
        assert!(!g.admit(ip(1)).unwrap().evicted);
    }

    #[tokio::test]
    async fn at_the_cap_the_longest_idle_of_the_largest_holder_makes_room() {
        let g = Arc::new(MllpGate::new(4, 4));
        let held: Vec<_> = (0..4).map(|_| g.admit(ip(1)).unwrap().slot).collect();
        // The oldest is busy: the next oldest goes.
        held[0].busy();
        let b = g.admit(ip(2)).unwrap();
        assert!(b.evicted);
        tokio::time::timeout(std::time::Duration::from_secs(1), held[1].evicted())
            .await
            .unwrap();
        // 3 against 1: one more swap is allowed; 2 against 2 is not.
        let c = g.admit(ip(2)).unwrap();
        assert!(c.evicted);
        assert_eq!(g.admit(ip(2)).unwrap_err(), Refusal::Cap);
        // Nor may the largest holder push anyone out.
        assert_eq!(g.admit(ip(1)).unwrap_err(), Refusal::Cap);
        // Dropping an evicted slot does not free a second slot.
        drop(held);
        assert_eq!(g.lock().total, 2);
        drop((b, c));
        assert_eq!(g.lock().total, 0);
    }

    #[test]
    fn busy_connections_are_never_evicted() {
        let g = Arc::new(MllpGate::new(2, 2));
        let a: Vec<_> = (0..2).map(|_| g.admit(ip(1)).unwrap().slot).collect();
        a.iter().for_each(Slot::busy);
        assert_eq!(g.admit(ip(2)).unwrap_err(), Refusal::Cap);
    }
}
