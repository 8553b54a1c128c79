//! Denial-of-service limits (issue #15): what one client, one request or many
//! requests at once may hold of the process's file descriptors, memory and time.
//!
//! - HTTP connections: a cap overall and per client address ([`gate`]), checked
//!   when actix hands a new connection to its worker; over either, the socket is
//!   shut down at once, so the descriptor is freed without waiting for a request.
//! - Slow clients: a request head must arrive within the header timeout (actix's
//!   `client_request_timeout`), its body within the body timeout
//!   (`fhir::handlers::body::read_body`, 408 with an OperationOutcome).
//! - Work per request: at most `max_json_nodes` JSON values per resource, counted
//!   while parsing (`fhirgate_validate::parse_json_with`, 413).
//! - Memory of requests at once: a budget of body bytes shared by every request
//!   being read and parsed ([`budget`], 503 with Retry-After past a short wait).
//! - File descriptors: the soft RLIMIT_NOFILE raised to the hard limit at start
//!   ([`fd`]), and the default caps derived from it so that connections cannot
//!   exhaust it; accept errors (EMFILE) are logged once per episode and backed off.
//! - Fairness (issue #18): token buckets per tenant and per client, charged by
//!   the cost of each interaction ([`rate`]; 429 over HTTP, slower ACKs over MLLP).

pub mod budget;
pub mod fd;
pub mod gate;
pub mod memory;
pub mod rate;

use std::time::Duration;

/// The HTTP limits (`fhirgate serve --help`; README "Settings").
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// Open HTTP connections, all clients together.
    pub max_connections: usize,
    /// Open HTTP connections of one client address.
    pub max_connections_per_address: usize,
    /// Time for a request head to arrive (from the connection, or the previous response).
    pub header_timeout: Duration,
    /// Time for a request body to arrive once its head has.
    pub body_timeout: Duration,
    /// JSON values per resource.
    pub max_json_nodes: usize,
    /// Bytes of request bodies read and parsed at once, all requests together.
    pub parse_budget_bytes: usize,
    /// How long a request waits for its share of the budget before 503.
    pub parse_budget_wait: Duration,
}

/// Default cap of HTTP connections where the descriptor limit allows more.
pub const DEFAULT_HTTP_MAX_CONNECTIONS: usize = 10_000;
/// Default body timeout: 16 MiB (the default body limit) needs about 4.5 Mbit/s.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// actix-web's own default for the request head.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(5);
pub const DEFAULT_PARSE_BUDGET_WAIT: Duration = Duration::from_secs(2);
/// Descriptors kept for everything but client connections: database connections
/// (added separately), log and key files, the private cluster's pipes, the
/// runtime's own (epoll, eventfds), and headroom.
pub const RESERVED_FDS: u64 = 256;
/// Memory one byte of request body may cost while parsed, validated and written,
/// measured in the worst shape (a body of tiny objects: docs/architecture.md,
/// "Denial of service"). The default budget gives half of the memory to bodies at
/// this ratio.
pub const MEMORY_PER_BODY_BYTE: u64 = 80;

impl Default for HttpLimits {
    /// Fixed defaults (the tests'); `serve` derives its own from the machine
    /// ([`HttpLimits::derive`]).
    fn default() -> Self {
        Self {
            max_connections: DEFAULT_HTTP_MAX_CONNECTIONS,
            max_connections_per_address: per_address_default(DEFAULT_HTTP_MAX_CONNECTIONS),
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            max_json_nodes: fhirgate_validate::DEFAULT_MAX_NODES,
            parse_budget_bytes: 256 * 1024 * 1024,
            parse_budget_wait: DEFAULT_PARSE_BUDGET_WAIT,
        }
    }
}

/// One address may hold an eighth of the connections (at least 32): eight
/// clients are needed to fill the cap, and a reverse proxy in front of the
/// gateway (one address for everybody) should have this raised.
pub fn per_address_default(cap: usize) -> usize {
    (cap / 8).max(32).min(cap)
}

/// What the configuration gave (None: derive the default).
#[derive(Debug, Clone, Default)]
pub struct HttpLimitsGiven {
    pub max_connections: Option<usize>,
    pub max_connections_per_address: Option<usize>,
    pub header_timeout_secs: Option<u64>,
    pub body_timeout_secs: Option<u64>,
    pub max_json_nodes: Option<usize>,
    pub parse_budget_bytes: Option<usize>,
    pub parse_budget_wait_ms: Option<u64>,
}

/// What the defaults are derived from.
#[derive(Debug, Clone, Copy)]
pub struct Machine {
    /// The soft RLIMIT_NOFILE (after [`fd::raise_nofile`]).
    pub nofile: u64,
    /// Memory the process may use (cgroup limit or physical memory).
    pub memory: u64,
}

impl Machine {
    pub fn detect() -> Self {
        Self {
            nofile: fd::soft_limit(),
            memory: memory::available_bytes(),
        }
    }
}

impl HttpLimits {
    /// Resolves the configured values over defaults derived from `machine`:
    /// - the HTTP cap: the descriptors left after [`RESERVED_FDS`], the database
    ///   pool and the MLLP cap, at most [`DEFAULT_HTTP_MAX_CONNECTIONS`] (and at
    ///   least 64, with a warning at start when that is more than the limit);
    /// - per address: [`per_address_default`];
    /// - the parse budget: half the memory at [`MEMORY_PER_BODY_BYTE`], and never
    ///   less than one body of the largest size (or nothing large could be served).
    pub fn derive(
        given: &HttpLimitsGiven,
        machine: Machine,
        db_pool: u32,
        mllp_cap: usize,
        max_body: usize,
    ) -> Self {
        let d = Self::default();
        let spare = machine
            .nofile
            .saturating_sub(RESERVED_FDS + u64::from(db_pool) + mllp_cap as u64);
        let cap_default = usize::try_from(spare)
            .unwrap_or(usize::MAX)
            .clamp(64, DEFAULT_HTTP_MAX_CONNECTIONS);
        let max_connections = given.max_connections.unwrap_or(cap_default).max(1);
        let budget_default = usize::try_from(machine.memory / 2 / MEMORY_PER_BODY_BYTE)
            .unwrap_or(usize::MAX)
            .max(max_body);
        Self {
            max_connections,
            max_connections_per_address: given
                .max_connections_per_address
                .unwrap_or_else(|| per_address_default(max_connections))
                .clamp(1, max_connections),
            header_timeout: given
                .header_timeout_secs
                .map_or(d.header_timeout, Duration::from_secs),
            body_timeout: given
                .body_timeout_secs
                .map_or(d.body_timeout, Duration::from_secs),
            max_json_nodes: given.max_json_nodes.unwrap_or(d.max_json_nodes).max(1),
            // A budget below the body limit could never admit a body of that size.
            parse_budget_bytes: given
                .parse_budget_bytes
                .unwrap_or(budget_default)
                .max(max_body)
                .max(1024),
            parse_budget_wait: given
                .parse_budget_wait_ms
                .map_or(d.parse_budget_wait, Duration::from_millis),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn caps_leave_room_for_everything_else() {
        let m = Machine {
            nofile: 1024,
            memory: 4 << 30,
        };
        let l = HttpLimits::derive(&HttpLimitsGiven::default(), m, 16, 256, 16 << 20);
        // 1024 - 256 reserved - 16 pool - 256 MLLP.
        assert_eq!(l.max_connections, 496);
        assert_eq!(l.max_connections_per_address, 62);
        // 4 GiB / 2 / 80 = 26.8 MB, above one 16 MiB body.
        assert_eq!(l.parse_budget_bytes, (4u64 << 30) as usize / 2 / 80);
        let big = Machine {
            nofile: 1 << 20,
            memory: 256 << 20,
        };
        let l = HttpLimits::derive(&HttpLimitsGiven::default(), big, 16, 256, 16 << 20);
        assert_eq!(l.max_connections, DEFAULT_HTTP_MAX_CONNECTIONS);
        assert_eq!(l.max_connections_per_address, 1250);
        // Small memory: still one body of the largest size.
        assert_eq!(l.parse_budget_bytes, 16 << 20);
    }

    #[test]
    fn configured_values_win() {
        let given = HttpLimitsGiven {
            max_connections: Some(5000),
            max_connections_per_address: Some(9000),
            parse_budget_bytes: Some(1),
            ..Default::default()
        };
        let m = Machine {
            nofile: 256,
            memory: 1 << 30,
        };
        let l = HttpLimits::derive(&given, m, 16, 256, 1 << 20);
        // Above the descriptor limit if the operator says so (warned at start).
        assert_eq!(l.max_connections, 5000);
        assert_eq!(l.max_connections_per_address, 5000);
        assert_eq!(l.parse_budget_bytes, 1 << 20);
    }
}
