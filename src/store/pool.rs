//! The connection pool and the one helper every database call goes through.

use std::sync::Arc;
use std::time::Duration;

use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, Pool, PooledConnection};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::cluster::PrivateCluster;
use super::health::{ConnectFailed, Connected, Health};
use super::session::{in_session, in_session_set_by_first, in_transaction, Bound, Manager};
use super::StoreError;
use crate::tenant::TenantId;

pub type PgPool = Pool<Manager>;

/// The default is configuration's (config sits below the store).
pub use crate::config::DEFAULT_DB_CONNECT_TIMEOUT as DEFAULT_CONNECT_TIMEOUT;
/// How long a request queues for a connection while the pool is busy.
const QUEUE_WAIT: Duration = Duration::from_secs(10);

/// A handle on the database: a pool plus, when fhirgate started its own private
/// PostgreSQL cluster, ownership of that cluster (stopped by [`Db::shutdown`]).
#[derive(Clone)]
pub struct Db {
    pool: PgPool,
    /// One permit per pooled connection, granted first come, first served.
    gate: Arc<Semaphore>,
    /// Permits for read-only requests, taken before `gate` ([`Db::read`]).
    reads: Arc<Semaphore>,
    url: Arc<String>,
    cluster: Option<Arc<PrivateCluster>>,
    health: Arc<Health>,
    connect_timeout: Duration,
    /// The tenant every unit of work runs for ([`Db::for_tenant`]).
    bound: Option<Bound>,
}

impl Db {
    pub fn connect(
        url: &str,
        pool_size: u32,
        cluster: Option<Arc<PrivateCluster>>,
    ) -> Result<Self, StoreError> {
        Self::connect_with(url, pool_size, cluster, DEFAULT_CONNECT_TIMEOUT)
    }

    /// [`Db::connect`] with another connect timeout.
    pub fn connect_with(
        url: &str,
        pool_size: u32,
        cluster: Option<Arc<PrivateCluster>>,
        connect_timeout: Duration,
    ) -> Result<Self, StoreError> {
        super::init_openssl();
        let url = with_connect_timeout(url, connect_timeout);
        let health = Arc::new(Health::default());
        let manager = Manager(ConnectionManager::<PgConnection>::new(url.as_str()));
        let pool = Pool::builder()
            .max_size(pool_size.max(1))
            .min_idle(Some(1))
            // r2d2 also caps its reconnection back-off at half of this.
            .connection_timeout(connect_timeout)
            .test_on_check_out(false)
            .error_handler(Box::new(ConnectFailed(health.clone())))
            .event_handler(Box::new(Connected(health.clone())))
            .build(manager)
            .map_err(|e| StoreError::Pool(e.to_string()))?;
        Ok(Self {
            pool,
            gate: Arc::new(Semaphore::new(pool_size.max(1) as usize)),
            reads: Arc::new(Semaphore::new(pool_size.max(1) as usize)),
            url: Arc::new(url),
            cluster,
            health,
            connect_timeout,
            bound: None,
        })
    }

    /// This database for one tenant: every [`Db::run`] and [`Db::run_sync`]
    /// is one transaction that first sets `app.tenant`, the setting the
    /// row-level security policies compare every row's `tenant_id` with
    /// (migrations/..000014_tenancy); every [`Db::read`] runs under the
    /// session's setting of it (store/session.rs says why and how). An
    /// unbound `Db` (migrations, the tenants table) sees no tenant's rows
    /// when it logs in as the serving role.
    pub fn for_tenant(&self, tenant: &TenantId) -> Self {
        Self {
            bound: Some(Bound::new(tenant)),
            ..self.clone()
        }
    }

    /// The tenant this handle is bound to.
    pub fn tenant(&self) -> Option<&TenantId> {
        self.bound.as_ref().map(|b| &b.tenant)
    }

    /// Another login to the same server (and private cluster, which it keeps
    /// running): the serving role's pool beside the owner's (bootstrap.rs).
    pub fn connect_as(&self, url: &str, pool_size: u32) -> Result<Self, StoreError> {
        Self::connect_with(url, pool_size, self.cluster.clone(), self.connect_timeout)
    }

    /// At most `n` read-only requests use connections at once ([`Db::read`]).
    pub fn with_read_limit(mut self, n: usize) -> Self {
        self.reads = Arc::new(Semaphore::new(n.max(1)));
        self
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs `f` on a pooled connection on the blocking thread pool. A panic inside
    /// `f` becomes an error (the request fails with 500), never a dead worker.
    ///
    /// Callers queue for a connection on a fair (FIFO) semaphore before they take
    /// a blocking thread: the pool's own wait wakes its waiters in no particular
    /// order, which under a saturating load left a few requests waiting many
    /// times the median (the p99 of issue #2, docs/performance.md). A request
    /// that waits longer than [`QUEUE_WAIT`] for its turn, or than the connect
    /// timeout for a new connection, gets [`StoreError::Pool`] (503), and so
    /// does every request while the database is down (src/store/health.rs).
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.run_as(Unit::Transaction, f).await
    }

    async fn run_as<T, E, F>(&self, unit: Unit, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let permit = self.permit(&self.gate).await?;
        let (pool, health, wait) = (self.pool.clone(), self.health.clone(), self.connect_timeout);
        let bound = self.bound.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut conn = checkout(&pool, &health, wait)?;
            match unit {
                Unit::Transaction => in_transaction(&mut conn, bound.as_ref(), f),
                Unit::ReadOnly => in_session(&mut conn, bound.as_ref(), f),
                Unit::SetByFirst => in_session_set_by_first(&mut conn, bound.as_ref(), f),
            }
        })
        .await;
        match joined {
            Ok(result) => result,
            Err(join_err) => Err(StoreError::Task(join_err.to_string()).into()),
        }
    }

    /// [`Db::run`] for a read-only request (read, search, history), run under
    /// the session's tenant rather than in a transaction (store/session.rs).
    /// `f` must not write: nothing would roll its writes back. Reads are
    /// CPU-bound on both sides, so more of them at once than the machine has
    /// cores to run them only makes each wait for the scheduler: measured at 32
    /// connections on 2 cores, 16 reads at once and 6 gave the same throughput,
    /// with a p99 of 27-30 ms against 11 ms (docs/performance.md). Writes keep
    /// the whole pool: they mostly wait for their commit's flush, and more of
    /// them at once share one flush (group commit).
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let _reading = self.permit(&self.reads).await?;
        self.run_as(Unit::ReadOnly, f).await
    }

    /// [`Db::read`] for `f` whose first statement sets the session's tenant
    /// itself: `tenant_reads::read_setting_tenant`, and nothing may run before
    /// it (what would run under the tenant the connection last served). One
    /// round trip for a read by id on any connection (store/session.rs).
    pub async fn read_setting_tenant<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let _reading = self.permit(&self.reads).await?;
        self.run_as(Unit::SetByFirst, f).await
    }

    /// A permit of `gate`, waited for at most [`QUEUE_WAIT`], and not at all
    /// while the database is down: a queued request would only wait for the
    /// ones ahead of it to fail (src/store/health.rs).
    async fn permit(&self, gate: &Arc<Semaphore>) -> Result<OwnedSemaphorePermit, StoreError> {
        if let Ok(p) = gate.clone().try_acquire_owned() {
            return Ok(p);
        }
        let mut down = self.health.watch();
        tokio::select! {
            waited = tokio::time::timeout(QUEUE_WAIT, gate.clone().acquire_owned()) => match waited {
                Ok(Ok(p)) => Ok(p),
                Ok(Err(_)) => Err(StoreError::Pool("the pool is closed".into())),
                Err(_) => Err(StoreError::Pool(format!(
                    "no database connection within {} s",
                    QUEUE_WAIT.as_secs()
                ))),
            },
            Ok(_) = down.wait_for(|d| *d) => Err(unreachable()),
        }
    }

    /// Whether the pool last found the database unreachable.
    pub fn is_down(&self) -> bool {
        self.health.is_down()
    }

    /// The same, for code already on a blocking thread (CLI commands, background jobs).
    pub fn run_sync<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, E>,
        E: From<StoreError>,
    {
        let mut conn = checkout(&self.pool, &self.health, self.connect_timeout)?;
        in_transaction(&mut conn, self.bound.as_ref(), f)
    }

    /// Applies the pending migrations; `keyring` converts what only the
    /// gateway can (see [`super::bootstrap::run_migrations_with`]).
    pub async fn migrate(
        &self,
        keyring: std::sync::Arc<crate::crypto::Keyring>,
    ) -> Result<(), StoreError> {
        self.run(move |conn| super::bootstrap::run_migrations_with(conn, Some(&keyring)))
            .await
    }

    /// Whether the database answers and every embedded migration is applied.
    pub async fn ready(&self) -> bool {
        self.run(|conn| super::bootstrap::migrations_pending(conn).map(|p| !p))
            .await
            .unwrap_or(false)
    }

    /// Stops the private cluster if this process started it.
    pub async fn shutdown(self) {
        if let Some(cluster) = self.cluster {
            drop(self.pool);
            drop(tokio::task::spawn_blocking(move || cluster.stop()).await);
        }
    }
}

/// How a unit of work meets the database.
#[derive(Clone, Copy)]
enum Unit {
    Transaction,
    ReadOnly,
    SetByFirst,
}

fn unreachable() -> StoreError {
    StoreError::Pool("the database is unreachable".into())
}

/// A pooled connection. While the database is down only one already made is
/// taken, without waiting: the pool keeps trying to connect in the background
/// (it had to fail to mark the database down), and its first success ends the
/// outage ([`Health::back`]).
fn checkout(
    pool: &PgPool,
    health: &Health,
    wait: Duration,
) -> Result<PooledConnection<Manager>, StoreError> {
    if health.is_down() {
        return pool.try_get().ok_or_else(unreachable);
    }
    pool.get_timeout(wait)
        .map_err(|e| StoreError::Pool(e.to_string()))
}

/// `url` with libpq's `connect_timeout` (whole seconds, at least 2:
/// https://www.postgresql.org/docs/15/libpq-connect.html#LIBPQ-CONNECT-CONNECT-TIMEOUT)
/// unless it sets one: without it a connection to a host that does not answer
/// waits for the kernel's TCP timeout, minutes.
pub fn with_connect_timeout(url: &str, timeout: Duration) -> String {
    if url.contains("connect_timeout=") {
        return url.to_owned();
    }
    let secs = timeout.as_secs().max(2);
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}connect_timeout={secs}")
    } else {
        // A keyword/value connection string.
        format!("{url} connect_timeout={secs}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_timeout_is_added_unless_set() {
        let t = Duration::from_secs(2);
        assert_eq!(
            with_connect_timeout("postgres://h/db", t),
            "postgres://h/db?connect_timeout=2"
        );
        assert_eq!(
            with_connect_timeout(
                "postgres://h/db?sslmode=disable",
                Duration::from_millis(500)
            ),
            "postgres://h/db?sslmode=disable&connect_timeout=2"
        );
        assert_eq!(
            with_connect_timeout("postgres://h/db?connect_timeout=9", t),
            "postgres://h/db?connect_timeout=9"
        );
        assert_eq!(
            with_connect_timeout("host=/tmp dbname=x", Duration::from_secs(5)),
            "host=/tmp dbname=x connect_timeout=5"
        );
    }
}
