//! Fairness between tenants and between the clients of a tenant (issue #18):
//! token buckets, one per tenant and one per (tenant, client), charged by the
//! cost of what is asked (`fhir::engine::cost`: a read is 1).
//!
//! A bucket holds up to `burst` tokens and refills continuously at `per_sec`
//! on the monotonic clock. An interaction may start when every bucket it draws
//! on holds its cost (or, for a cost above the burst, a full burst: otherwise a
//! large transaction could never run); it then takes its whole cost, which may
//! leave a bucket in debt, so that the next interaction waits until the debt
//! is refilled. The tenant bucket and the client bucket are checked and taken
//! under one lock: when either lacks tokens, neither is charged, so a client
//! refused by its own budget does not spend its tenant's.
//!
//! HTTP asks [`Limiter::try_take`] and answers 429 with how long to wait (RFC
//! 6585 section 4). HL7 v2 senders cannot be told "later" in a way they act on,
//! and refusing would only make them resend at once; MLLP is one message at a
//! time per connection, so the listener waits for the tokens instead
//! ([`Limiter::take_waiting`]): a slower ACK slows the sender down. Only as
//! many messages of a tenant may wait at once as its `hl7_queue` allows.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::tenant::TenantId;

/// A client bucket untouched this long (and refilled) is dropped: a new one
/// would start full, the same.
pub const CLIENT_IDLE: Duration = Duration::from_secs(10 * 60);
/// How often idle client buckets are looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// Client buckets kept at most, all tenants together: HL7 senders name
/// themselves (MSH-3/MSH-4), so their number is the network's choice. Past it,
/// a new client draws on its tenant's bucket only.
pub const MAX_CLIENT_BUCKETS: usize = 100_000;
/// Messages of one tenant that may wait for tokens at once (`--hl7-tenant-queue`).
pub const DEFAULT_HL7_QUEUE: usize = 100;
/// The longest wait ever asked for: a tiny configured rate must not overflow.
const MAX_WAIT: Duration = Duration::from_secs(24 * 60 * 60);

/// The limits of one tenant (or the server's defaults). `None` rate: unlimited.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    /// Cost units per second, the tenant's clients together.
    pub tenant_per_sec: Option<f64>,
    /// Cost units the tenant may spend at once (default: 2 s of its rate).
    pub tenant_burst: Option<f64>,
    /// Cost units per second of one client (token `client_id`, HL7 sender).
    pub client_per_sec: Option<f64>,
    pub client_burst: Option<f64>,
    /// HL7 messages of the tenant that may wait for tokens at once; one more
    /// is answered AE at once.
    pub hl7_queue: usize,
}

impl Default for Rates {
    /// Unlimited: the server's default unless configured.
    fn default() -> Self {
        Self {
            tenant_per_sec: None,
            tenant_burst: None,
            client_per_sec: None,
            client_burst: None,
            hl7_queue: DEFAULT_HL7_QUEUE,
        }
    }
}

/// A rate and its burst, both positive and finite.
#[derive(Debug, Clone, Copy)]
struct Limit {
    per_sec: f64,
    burst: f64,
}

impl Limit {
    /// None (unlimited) without a positive, finite rate; a burst that is not
    /// positive and finite is two seconds' worth.
    fn of(per_sec: Option<f64>, burst: Option<f64>) -> Option<Self> {
        let per_sec = per_sec.filter(|r| r.is_finite() && *r > 0.0)?;
        let burst = burst
            .filter(|b| b.is_finite() && *b > 0.0)
            .unwrap_or(2.0 * per_sec);
        Some(Self { per_sec, burst })
    }
}

impl Rates {
    fn tenant(&self) -> Option<Limit> {
        Limit::of(self.tenant_per_sec, self.tenant_burst)
    }

    fn client(&self) -> Option<Limit> {
        Limit::of(self.client_per_sec, self.client_burst)
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn full(limit: Limit, now: Instant) -> Self {
        Self {
            tokens: limit.burst,
            last: now,
        }
    }

    fn refill(&mut self, limit: Limit, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * limit.per_sec).min(limit.burst);
        self.last = self.last.max(now);
    }

    /// How long until `cost` may start (zero: now).
    fn wait(&self, limit: Limit, cost: f64) -> Duration {
        let need = cost.min(limit.burst);
        if self.tokens >= need {
            return Duration::ZERO;
        }
        Duration::try_from_secs_f64((need - self.tokens) / limit.per_sec)
            .unwrap_or(MAX_WAIT)
            .min(MAX_WAIT)
    }

    /// Idle long enough, and refilled: dropping it changes nothing.
    fn forgettable(&self, limit: Limit, now: Instant) -> bool {
        let idle = now.saturating_duration_since(self.last);
        idle >= CLIENT_IDLE && self.tokens + idle.as_secs_f64() * limit.per_sec >= limit.burst
    }
}

#[derive(Debug, Default)]
struct Tenant {
    /// Set by [`Limiter::configure`]; the defaults otherwise.
    rates: Option<Rates>,
    bucket: Option<Bucket>,
    clients: HashMap<String, Bucket>,
    /// HL7 messages waiting in [`Limiter::take_waiting`].
    waiters: usize,
}

#[derive(Debug)]
struct State {
    tenants: HashMap<TenantId, Tenant>,
    clients: usize,
    last_sweep: Instant,
}

/// The tenant's queue of waiting HL7 messages is full: answer now, do not wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFull;

/// Who asks for tokens: an HTTP request (never waits), or an HL7 message
/// (waits in its tenant's queue, or has been waiting already).
#[derive(Clone, Copy)]
enum Asker {
    Http,
    MayQueue,
    Queued,
}

/// What became of an ask.
enum Step {
    Taken,
    Wait(Duration),
    Full,
}

/// Token buckets of every tenant and client; shared by every entry point.
#[derive(Debug)]
pub struct Limiter {
    defaults: Rates,
    state: Mutex<State>,
}

impl Limiter {
    pub fn new(defaults: Rates) -> Self {
        Self {
            defaults,
            state: Mutex::new(State {
                tenants: HashMap::new(),
                clients: 0,
                last_sweep: Instant::now(),
            }),
        }
    }

    /// A limiter that never refuses (the defaults, unconfigured).
    pub fn unlimited() -> Self {
        Self::new(Rates::default())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic under the lock leaves counters, never a broken invariant.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets the tenant's own limits (None: the server's defaults again). Its
    /// buckets keep their tokens, capped to a smaller burst at the next take.
    pub fn configure(&self, tenant: &TenantId, rates: Option<Rates>) {
        let mut s = self.lock();
        s.tenants.entry(tenant.clone()).or_default().rates = rates;
    }

    /// The limits in force for `tenant`.
    pub fn rates(&self, tenant: &TenantId) -> Rates {
        let s = self.lock();
        s.tenants
            .get(tenant)
            .and_then(|t| t.rates)
            .unwrap_or(self.defaults)
    }

    /// Takes `cost` from the tenant's bucket and, when `client` is given and
    /// clients are limited, from the client's, or from neither: Err is how
    /// long to wait before asking again.
    pub fn try_take(
        &self,
        tenant: &TenantId,
        client: Option<&str>,
        cost: u32,
    ) -> Result<(), Duration> {
        self.try_take_at(Instant::now(), tenant, client, cost)
    }

    fn try_take_at(
        &self,
        now: Instant,
        tenant: &TenantId,
        client: Option<&str>,
        cost: u32,
    ) -> Result<(), Duration> {
        match self.step(now, tenant, client, cost, Asker::Http) {
            Step::Wait(w) => Err(w),
            Step::Taken | Step::Full => Ok(()),
        }
    }

    /// Waits until the tenant's and the client's buckets hold `cost`, then
    /// takes it, and answers how long it waited; `QueueFull` at once when as
    /// many messages of the tenant as its `hl7_queue` are waiting already.
    /// Waiters are not served in order of arrival. Cancel-safe: a dropped
    /// wait leaves the queue.
    pub async fn take_waiting(
        &self,
        tenant: &TenantId,
        client: Option<&str>,
        cost: u32,
    ) -> Result<Duration, QueueFull> {
        let start = Instant::now();
        let mut queued: Option<Queued<'_>> = None;
        loop {
            let asker = match queued {
                Some(_) => Asker::Queued,
                None => Asker::MayQueue,
            };
            match self.step(Instant::now(), tenant, client, cost, asker) {
                Step::Taken => return Ok(start.elapsed()),
                Step::Full => return Err(QueueFull),
                Step::Wait(w) => {
                    if queued.is_none() {
                        // `step` counted this caller in the queue.
                        queued = Some(Queued {
                            limiter: self,
                            tenant,
                        });
                    }
                    tokio::time::sleep(w).await;
                }
            }
        }
    }

    /// Checks and takes under one lock; for a caller that may wait and is not
    /// queued yet, a `Wait` also puts it in its tenant's queue.
    fn step(
        &self,
        now: Instant,
        tenant: &TenantId,
        client: Option<&str>,
        cost: u32,
        asker: Asker,
    ) -> Step {
        let mut guard = self.lock();
        let s = &mut *guard;
        if now.saturating_duration_since(s.last_sweep) >= SWEEP_EVERY {
            sweep(s, &self.defaults, now);
        }
        let rates = s
            .tenants
            .get(tenant)
            .and_then(|t| t.rates)
            .unwrap_or(self.defaults);
        let (tl, cl) = (rates.tenant(), client.and(rates.client()));
        if tl.is_none() && cl.is_none() {
            // Nothing is kept for what is not limited.
            return Step::Taken;
        }
        // Tenants are the gateway's own (resolved before the engine runs), so
        // their entries need no eviction.
        if !s.tenants.contains_key(tenant) {
            s.tenants.insert(tenant.clone(), Tenant::default());
        }
        let Some(t) = s.tenants.get_mut(tenant) else {
            return Step::Taken;
        };
        let cost = f64::from(cost);
        let mut wait = Duration::ZERO;
        if let Some(l) = tl {
            let b = t.bucket.get_or_insert_with(|| Bucket::full(l, now));
            b.refill(l, now);
            wait = wait.max(b.wait(l, cost));
        }
        let mut client_bucket = None;
        if let (Some(l), Some(c)) = (cl, client) {
            if !t.clients.contains_key(c) && s.clients < MAX_CLIENT_BUCKETS {
                t.clients.insert(c.to_owned(), Bucket::full(l, now));
                s.clients += 1;
                if s.clients == MAX_CLIENT_BUCKETS {
                    tracing::warn!(
                        max = MAX_CLIENT_BUCKETS,
                        "rate limits: as many client buckets as are kept; new clients draw on their tenant's bucket only"
                    );
                }
            }
            if let Some(b) = t.clients.get_mut(c) {
                b.refill(l, now);
                wait = wait.max(b.wait(l, cost));
                client_bucket = Some(b);
            }
        }
        if wait.is_zero() {
            if let Some(b) = client_bucket {
                b.tokens -= cost;
            }
            if let Some(b) = t.bucket.as_mut() {
                b.tokens -= cost;
            }
            return Step::Taken;
        }
        match asker {
            Asker::Http | Asker::Queued => Step::Wait(wait),
            Asker::MayQueue if t.waiters >= rates.hl7_queue => Step::Full,
            Asker::MayQueue => {
                t.waiters += 1;
                Step::Wait(wait)
            }
        }
    }

    /// How long until the tenant's bucket holds `least` (the least the
    /// request can cost), when it does not now. The request would then be
    /// refused whatever else it holds, so HTTP refuses it before verifying
    /// its token or reading its body (fhir/handlers/common.rs): a flood over
    /// the limit costs little of what the other tenants need. Takes nothing.
    pub fn tenant_wait(&self, tenant: &TenantId, least: u32) -> Option<Duration> {
        self.tenant_wait_at(Instant::now(), tenant, least)
    }

    fn tenant_wait_at(&self, now: Instant, tenant: &TenantId, least: u32) -> Option<Duration> {
        let mut s = self.lock();
        let t = s.tenants.get_mut(tenant)?;
        let l = t.rates.unwrap_or(self.defaults).tenant()?;
        let b = t.bucket.as_mut()?;
        b.refill(l, now);
        Some(b.wait(l, f64::from(least))).filter(|w| !w.is_zero())
    }

    /// HL7 messages of `tenant` waiting for tokens now.
    pub fn waiting(&self, tenant: &TenantId) -> usize {
        self.lock().tenants.get(tenant).map_or(0, |t| t.waiters)
    }
}

/// Drops forgettable client buckets, and every client bucket of a tenant
/// whose clients are no longer limited.
fn sweep(s: &mut State, defaults: &Rates, now: Instant) {
    s.last_sweep = now;
    let mut kept = 0;
    for t in s.tenants.values_mut() {
        match t.rates.unwrap_or(*defaults).client() {
            None => t.clients.clear(),
            Some(l) => t.clients.retain(|_, b| !b.forgettable(l, now)),
        }
        kept += t.clients.len();
    }
    s.clients = kept;
}

/// A place in a tenant's queue of waiting HL7 messages, left when dropped.
struct Queued<'a> {
    limiter: &'a Limiter,
    tenant: &'a TenantId,
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        let mut s = self.limiter.lock();
        if let Some(t) = s.tenants.get_mut(self.tenant) {
            t.waiters = t.waiters.saturating_sub(1);
        }
    }
}

/// The least and the most an early refusal is held before it is answered
/// ([`hold`]).
pub const HOLD_MIN: Duration = Duration::from_millis(100);
pub const HOLD_MAX: Duration = Duration::from_secs(1);

/// How long to hold the answer to a request refused at its tenant's limit
/// when the bucket can pay again after `wait`: that long, within
/// [`HOLD_MIN`]..=[`HOLD_MAX`]. A client that asks again as soon as it is
/// answered (most retry loops, and wrk) is slowed to at most ten requests a
/// second per connection; one that honours Retry-After loses nothing, since
/// the hold is taken off the Retry-After it is given. A held request costs a
/// timer, not a thread; how many connections one address may hold is
/// limited by limits/gate.rs.
pub fn hold(wait: Duration) -> Duration {
    wait.clamp(HOLD_MIN, HOLD_MAX)
}

/// Whole seconds for a `Retry-After` (RFC 9110 section 10.2.3 takes only
/// whole seconds): rounded up, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
#[path = "rate_tests.rs"]
mod tests;
