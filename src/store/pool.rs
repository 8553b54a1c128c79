//! The connection pool and the one helper every database call goes through.

use std::sync::Arc;
use std::time::Duration;

use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, Pool};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::cluster::PrivateCluster;
use super::StoreError;

pub type PgPool = Pool<ConnectionManager<PgConnection>>;

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
}

impl Db {
    pub fn connect(
        url: &str,
        pool_size: u32,
        cluster: Option<Arc<PrivateCluster>>,
    ) -> Result<Self, StoreError> {
        super::init_openssl();
        let manager = ConnectionManager::<PgConnection>::new(url);
        let pool = Pool::builder()
            .max_size(pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            .test_on_check_out(false)
            .build(manager)
            .map_err(|e| StoreError::Pool(e.to_string()))?;
        Ok(Self {
            pool,
            gate: Arc::new(Semaphore::new(pool_size.max(1) as usize)),
            reads: Arc::new(Semaphore::new(pool_size.max(1) as usize)),
            url: Arc::new(url.to_owned()),
            cluster,
        })
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
    /// that waits longer than the pool's checkout timeout gets the pool's error.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let permit = self.permit(&self.gate).await?;
        let pool = self.pool.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut conn = pool.get().map_err(|e| StoreError::Pool(e.to_string()))?;
            f(&mut conn)
        })
        .await;
        match joined {
            Ok(result) => result,
            Err(join_err) => Err(StoreError::Task(join_err.to_string()).into()),
        }
    }

    /// [`Db::run`] for a read-only request (read, search, history). Reads are
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
        self.run(f).await
    }

    /// A permit of `gate`, waited for at most the pool's checkout timeout.
    async fn permit(&self, gate: &Arc<Semaphore>) -> Result<OwnedSemaphorePermit, StoreError> {
        let wait = self.pool.connection_timeout();
        match tokio::time::timeout(wait, gate.clone().acquire_owned()).await {
            Ok(Ok(p)) => Ok(p),
            Ok(Err(_)) => Err(StoreError::Pool("the pool is closed".into())),
            Err(_) => Err(StoreError::Pool(format!(
                "no database connection within {} s",
                wait.as_secs()
            ))),
        }
    }

    /// The same, for code already on a blocking thread (CLI commands, background jobs).
    pub fn run_sync<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, E>,
        E: From<StoreError>,
    {
        let mut conn = self
            .pool
            .get()
            .map_err(|e| StoreError::Pool(e.to_string()))?;
        f(&mut conn)
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
