//! The connection pool and the one helper every database call goes through.

use std::sync::Arc;
use std::time::Duration;

use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, Pool};
use tokio::sync::Semaphore;

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
            url: Arc::new(url.to_owned()),
            cluster,
        })
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
        let wait = self.pool.connection_timeout();
        let permit = match tokio::time::timeout(wait, self.gate.clone().acquire_owned()).await {
            Ok(Ok(p)) => p,
            Ok(Err(_)) => return Err(StoreError::Pool("the pool is closed".into()).into()),
            Err(_) => {
                return Err(StoreError::Pool(format!(
                    "no database connection within {} s",
                    wait.as_secs()
                ))
                .into())
            }
        };
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

    pub async fn migrate(&self) -> Result<(), StoreError> {
        self.run(super::bootstrap::run_migrations).await
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
