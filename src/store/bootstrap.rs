//! Finding (or making) the database at start-up, and the embedded migrations.
//!
//! Order (issue #2, "Running"): a configured URL (creating its database if
//! missing); else postgres://127.0.0.1:5432/fhirgate; else a private cluster from
//! the installed server binaries under the data directory.

use std::sync::Arc;

use anyhow::Context;
use diesel::pg::PgConnection;
use diesel::{sql_query, Connection, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::cluster::PrivateCluster;
use super::{Db, StoreError};
use crate::config::Settings;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");
/// The server this machine may run itself. Over loopback, TLS protects nothing
/// (whoever can read loopback traffic can read the key file too), yet libpq's
/// default `sslmode=prefer` negotiates it, and it cost a quarter of read
/// throughput (docs/performance.md, session 6). A configured URL is used as
/// given: a remote database must keep TLS, PHI crosses that network.
const DEFAULT_URLS: [&str; 2] = [
    "postgres://127.0.0.1:5432/fhirgate?connect_timeout=3&sslmode=disable",
    "postgres://postgres@127.0.0.1:5432/fhirgate?connect_timeout=3&sslmode=disable",
];
/// Connections of the owner's pool: migrations, ANALYZE and the commands'
/// administration run on it one at a time; requests use the serving role's
/// pool (store/role.rs, `runtime::serving_db`), sized by `--db-pool-size`.
const OWNER_POOL_SIZE: u32 = 2;
/// Arbitrary constant for the advisory lock that serialises concurrent migrators.
const MIGRATION_LOCK: i64 = 0x6668_6972_6761_7465;

/// Opens the database the settings point at (see the module docs for the order).
pub async fn open(settings: &Settings) -> anyhow::Result<Db> {
    let settings = settings.clone();
    tokio::task::spawn_blocking(move || open_blocking(&settings)).await?
}

fn open_blocking(settings: &Settings) -> anyhow::Result<Db> {
    Ok(connect_blocking(settings)?.with_read_limit(settings.db_read_concurrency))
}

fn connect_blocking(settings: &Settings) -> anyhow::Result<Db> {
    if let Some(url) = &settings.database_url {
        ensure_database(url).with_context(|| "preparing the configured database".to_string())?;
        return Ok(Db::connect_with(
            url,
            OWNER_POOL_SIZE,
            None,
            settings.db_connect_timeout,
        )?);
    }
    let probe: &[&str] = if settings.embedded_postgres {
        &[]
    } else {
        &DEFAULT_URLS
    };
    for url in probe {
        if ensure_database(url).is_ok() {
            tracing::info!("using the PostgreSQL server on 127.0.0.1:5432");
            return Ok(Db::connect_with(
                url,
                OWNER_POOL_SIZE,
                None,
                settings.db_connect_timeout,
            )?);
        }
    }
    tracing::info!("starting the private PostgreSQL cluster (none configured, none on 127.0.0.1:5432, or --embedded-postgres)");
    let cluster = PrivateCluster::start(&settings.data_dir.join("postgres"), false)?;
    let url = cluster.url("fhirgate");
    ensure_database(&url)?;
    Ok(Db::connect_with(
        &url,
        OWNER_POOL_SIZE,
        Some(Arc::new(cluster)),
        settings.db_connect_timeout,
    )?)
}

/// Splits a postgres URL into (before-dbname, dbname, query).
pub fn split_url(url: &str) -> anyhow::Result<(&str, &str, &str)> {
    let scheme_end = url.find("://").context("database URL has no scheme")? + 3;
    let (main, query) = match url.find('?') {
        Some(q) => (url.get(..q).unwrap_or(url), url.get(q..).unwrap_or("")),
        None => (url, ""),
    };
    let rest = main.get(scheme_end..).unwrap_or("");
    match rest.find('/') {
        Some(slash) => {
            let cut = scheme_end + slash + 1;
            Ok((
                main.get(..cut).unwrap_or(main),
                main.get(cut..).unwrap_or(""),
                query,
            ))
        }
        None => anyhow::bail!("database URL names no database"),
    }
}

/// The same server, another database.
pub fn with_database(url: &str, dbname: &str) -> anyhow::Result<String> {
    let (prefix, _, query) = split_url(url)?;
    Ok(format!("{prefix}{dbname}{query}"))
}

/// Connects to the server's `postgres` database and creates the URL's database if
/// it does not exist. Database names are restricted to a safe identifier set,
/// since CREATE DATABASE cannot take a bind parameter.
pub fn ensure_database(url: &str) -> anyhow::Result<()> {
    let (_, dbname, _) = split_url(url)?;
    anyhow::ensure!(
        !dbname.is_empty()
            && dbname.len() <= 63
            && dbname
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
        "database name must be 1-63 characters of [A-Za-z0-9_-]"
    );
    super::init_openssl();
    if PgConnection::establish(url).is_ok() {
        return Ok(());
    }
    let mut admin = PgConnection::establish(&with_database(url, "postgres")?)
        .context("connecting to the PostgreSQL server")?;
    match sql_query(format!("CREATE DATABASE \"{dbname}\"")).execute(&mut admin) {
        Ok(_) => Ok(()),
        // Another process created it meanwhile.
        Err(_) if PgConnection::establish(url).is_ok() => Ok(()),
        Err(e) => Err(e).context("creating the database"),
    }
}

/// The migration that drops the index's readable free text: the backfill of
/// `index::backfill` must have run before it (migrations/..000011).
const DROPS_FREE_TEXT: &str = "20261207000011";

/// Applies the pending migrations, for a database whose index holds no
/// readable free text to convert (a new one: the tests' template), else fails
/// asking for the keys ([`run_migrations_with`]).
pub fn run_migrations(conn: &mut PgConnection) -> Result<(), StoreError> {
    run_migrations_with(conn, None)
}

/// Applies the pending migrations one by one, under an advisory lock so that
/// concurrent gateways agree; before the one that drops the readable free text
/// of the index, converts that text to blind indexes with `keyring`.
pub fn run_migrations_with(
    conn: &mut PgConnection,
    keyring: Option<&crate::crypto::Keyring>,
) -> Result<(), StoreError> {
    sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})")).execute(conn)?;
    let result = apply_pending(conn, keyring);
    sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})")).execute(conn)?;
    result
}

fn apply_pending(
    conn: &mut PgConnection,
    keyring: Option<&crate::crypto::Keyring>,
) -> Result<(), StoreError> {
    let failed = |e: Box<dyn std::error::Error + Send + Sync>| {
        StoreError::Corrupt(format!("migration failed: {e}"))
    };
    for m in conn.pending_migrations(MIGRATIONS).map_err(failed)? {
        if m.name().version().to_string() == DROPS_FREE_TEXT {
            match keyring {
                Some(k) => {
                    let n = super::index::backfill::free_text(conn, k)?;
                    if n > 0 {
                        tracing::info!(rows = n, "index free text converted to blind indexes");
                    }
                }
                None if super::index::backfill::pending(conn)? => {
                    return Err(StoreError::Corrupt(
                        "the search index holds readable free text that only the gateway can \
                         convert: run `fhirgate migrate` with this database's master key"
                            .into(),
                    ))
                }
                None => {}
            }
        }
        conn.run_migration(&m).map_err(failed)?;
    }
    Ok(())
}

/// Whether an embedded migration is not applied. Read from diesel's table
/// with a plain SELECT: diesel's own check first creates the table if
/// missing, which the serving role may not (store/role.rs), so readiness
/// (`/readyz`, on the serving pool) asks this way.
pub fn migrations_pending(conn: &mut PgConnection) -> Result<bool, StoreError> {
    use diesel::migration::MigrationSource;
    #[derive(diesel::QueryableByName)]
    struct Version {
        #[diesel(sql_type = diesel::sql_types::Text)]
        version: String,
    }
    let applied: std::collections::HashSet<String> =
        sql_query("SELECT version::text AS version FROM __diesel_schema_migrations")
            .load::<Version>(conn)?
            .into_iter()
            .map(|v| v.version)
            .collect();
    let embedded = MigrationSource::<diesel::pg::Pg>::migrations(&MIGRATIONS)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(embedded
        .iter()
        .any(|m| !applied.contains(&m.name().version().to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_split_and_rewritten() -> anyhow::Result<()> {
        assert_eq!(
            with_database("postgres://u@h:5432/fhirgate?sslmode=disable", "postgres")?,
            "postgres://u@h:5432/postgres?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://fhirgate@localhost/x?host=/tmp/s&port=5432", "y")?,
            "postgres://fhirgate@localhost/y?host=/tmp/s&port=5432"
        );
        assert!(split_url("postgres://h:5432").is_err());
        Ok(())
    }
}
