//! The HTTP connection caps: overall and per client address.
//!
//! actix-web's `max_connections` is per worker and knows no addresses, so the
//! caps are kept here and checked in `HttpServer::on_connect`, which actix calls
//! with the accepted stream before it reads anything from it. An admitted
//! connection keeps a [`ConnGuard`] in its connection data; actix drops that
//! with the connection, which gives the slot back. A refused one is shut down
//! (shutdown(2), both directions) right there: actix's dispatcher then reads
//! end-of-file and drops the connection, closing its descriptor at once,
//! instead of holding it until a request head or a timeout comes. (actix also
//! keeps its per-worker cap, set to the overall cap divided among the workers
//! and rounded up: past it a worker stops accepting, so a flood waits in the
//! kernel's backlog instead of costing descriptors.)

use std::any::Any;
use std::collections::HashMap;
use std::net::{IpAddr, Shutdown};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use actix_web::dev::Extensions;
use tokio::net::TcpStream;

#[derive(Debug)]
pub struct ConnGate {
    cap: usize,
    per_address: usize,
    state: Mutex<GateState>,
    pub counters: GateCounters,
}

#[derive(Debug, Default)]
struct GateState {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// For /metrics.
#[derive(Debug, Default)]
pub struct GateCounters {
    pub open: AtomicI64,
    pub refused_cap: AtomicU64,
    pub refused_address: AtomicU64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The overall cap is reached.
    Cap,
    /// This address holds its share already.
    Address,
}

/// One admitted connection's slot, given back when dropped.
#[derive(Debug)]
pub struct ConnGuard {
    gate: Arc<ConnGate>,
    ip: IpAddr,
}

impl ConnGate {
    pub fn new(cap: usize, per_address: usize) -> Self {
        Self {
            cap,
            per_address,
            state: Mutex::default(),
            counters: GateCounters::default(),
        }
    }

    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<ConnGuard, Refusal> {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let refusal = if s.total >= self.cap {
            Some(Refusal::Cap)
        } else if s.per_ip.get(&ip).copied().unwrap_or(0) >= self.per_address {
            Some(Refusal::Address)
        } else {
            None
        };
        if let Some(r) = refusal {
            let counter = match r {
                Refusal::Cap => &self.counters.refused_cap,
                Refusal::Address => &self.counters.refused_address,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            return Err(r);
        }
        s.total += 1;
        *s.per_ip.entry(ip).or_insert(0) += 1;
        self.counters.open.fetch_add(1, Ordering::Relaxed);
        Ok(ConnGuard {
            gate: self.clone(),
            ip,
        })
    }
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        let mut s = self
            .gate
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        s.total = s.total.saturating_sub(1);
        if let Some(n) = s.per_ip.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                s.per_ip.remove(&self.ip);
            }
        }
        self.gate.counters.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The TCP stream under what actix hands `on_connect`: plain, or rustls.
fn tcp_of(io: &dyn Any) -> Option<&TcpStream> {
    io.downcast_ref::<TcpStream>().or_else(|| {
        io.downcast_ref::<actix_tls::accept::rustls_0_23::TlsStream<TcpStream>>()
            .map(|s| s.get_ref().0)
    })
}

/// The local address of an HTTP connection (set in [`on_connect`]).
#[derive(Debug, Clone, Copy)]
pub struct ConnLocalAddr(pub std::net::SocketAddr);

/// The `HttpServer::on_connect` callback: admit, or shut the socket down.
pub fn on_connect(gate: Arc<ConnGate>) -> impl Fn(&dyn Any, &mut Extensions) + Send + Sync {
    move |io, ext| {
        let Some(tcp) = tcp_of(io) else {
            tracing::error!(
                "HTTP connection of an unknown stream type; the connection caps cannot see it"
            );
            return;
        };
        // A peer already gone has no address; actix finds it closed.
        let Ok(peer) = tcp.peer_addr() else { return };
        // The address this connection came in on: on a listener bound to
        // 0.0.0.0 actix's AppConfig only knows the unspecified address, and the
        // Host rule (fhir/base.rs) needs the real one.
        if let Ok(local) = tcp.local_addr() {
            ext.insert(ConnLocalAddr(local));
        }
        match gate.admit(peer.ip()) {
            Ok(guard) => {
                ext.insert(guard);
            }
            Err(reason) => {
                // Per connection at debug only: a flood would flood the log; /metrics counts them.
                tracing::debug!(peer = %peer.ip(), ?reason, "HTTP connection refused: over its connection cap");
                let _ = socket2::SockRef::from(tcp).shutdown(Shutdown::Both);
            }
        }
    }
}
