//! Settings: command-line flags first, then environment variables, then an
//! optional TOML file (`--config` / `FHIRGATE_CONFIG`), then defaults.
//! `fhirgate --help` documents every setting.
//!
//! Settings are plain data that every layer may read, so this module sits low
//! (docs/architecture.md, "Layers inside the server") and imports no layer
//! that reads it: a subsystem's settings types live here too (`hl7.rs`: the
//! MLLP listeners and the v2 mapping), and the store's defaults are set here.

pub mod auth;
pub mod bind;
pub mod hl7;
pub mod rate;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use serde::Deserialize;

use self::auth::{AuthArgs, AuthFile, AuthSettings};
use self::hl7::{Hl7Args, Hl7File, Hl7Settings};
use self::rate::{RateArgs, RateFile};
use crate::limits::rate::Rates;
use crate::limits::{HttpLimits, HttpLimitsGiven, Machine};
use crate::telemetry::LogFormat;

/// Flags shared by every command that touches the database.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CommonArgs {
    /// TOML settings file; flags and environment variables override it.
    #[arg(long, env = "FHIRGATE_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// PostgreSQL URL (falls back to DATABASE_URL). Created if missing. Without one,
    /// postgres://127.0.0.1:5432/fhirgate is tried, then a private cluster is started
    /// under the data directory.
    #[arg(long, env = "FHIRGATE_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Always use the private PostgreSQL cluster under the data directory, without
    /// looking for a server on 127.0.0.1:5432.
    #[arg(long, env = "FHIRGATE_EMBEDDED_POSTGRES", global = true)]
    pub embedded_postgres: bool,
    /// Directory for the generated master key and the private PostgreSQL cluster.
    #[arg(long, env = "FHIRGATE_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// File holding the 32-byte master key (KEK), hex or base64. Generated (mode 0600)
    /// in the data directory on first start when no key is configured.
    #[arg(long, env = "FHIRGATE_MASTER_KEY_FILE", global = true)]
    pub master_key_file: Option<PathBuf>,
    /// Log format.
    #[arg(long, env = "FHIRGATE_LOG_FORMAT", value_enum, global = true)]
    pub log_format: Option<LogFormat>,
    /// The PostgreSQL role requests are served through: created (LOGIN,
    /// neither superuser nor BYPASSRLS) by the migrations' login when
    /// missing, so that row-level security applies to it.
    #[arg(long, env = "FHIRGATE_DB_SERVING_ROLE", global = true)]
    pub db_serving_role: Option<String>,
    /// The serving role's own URL, when the database URL with the role's name
    /// is not how it logs in (a password, another host); its password is set
    /// on the role.
    #[arg(long, env = "FHIRGATE_DB_SERVING_URL", global = true)]
    pub db_serving_url: Option<String>,
    /// The clinic a command acts for (its slug): `token`, `users`,
    /// `clients`, `launch`, `import`, `keys` and `hl7 replay`. Default: the
    /// default tenant (the one `/fhir` serves).
    #[arg(long, env = "FHIRGATE_TENANT", global = true)]
    pub tenant: Option<String>,
}

/// Flags of `fhirgate serve`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// Address of the HTTP API.
    #[arg(long, env = "FHIRGATE_HTTP_ADDR")]
    pub http_addr: Option<SocketAddr>,
    /// Serve /healthz, /readyz and /metrics (unauthenticated) on this address
    /// instead of the API's, e.g. one only the monitoring network reaches.
    #[arg(long, env = "FHIRGATE_OPS_ADDR")]
    pub ops_addr: Option<SocketAddr>,
    /// Public base URL of the FHIR endpoint (used in links, Location and fullUrl,
    /// whatever the request's Host). Default: the request's Host plus /fhir, when
    /// that Host is the address the request came in on or in --allowed-hosts.
    #[arg(long, env = "FHIRGATE_BASE_URL")]
    pub base_url: Option<String>,
    /// Host header values accepted besides the listening address when no base URL
    /// is configured (comma-separated; `name` any port, `name:port` that port).
    /// Other Host values get 400.
    #[arg(long, env = "FHIRGATE_ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,
    /// Largest accepted request body, in bytes (larger ones get 413).
    #[arg(long, env = "FHIRGATE_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Most entries accepted in one transaction or batch Bundle (more get 413).
    #[arg(long, env = "FHIRGATE_MAX_BUNDLE_ENTRIES")]
    pub max_bundle_entries: Option<usize>,
    /// Database connections in the pool.
    #[arg(long, env = "FHIRGATE_DB_POOL_SIZE")]
    pub db_pool_size: Option<u32>,
    /// Most read-only requests (read, search, history) using the database at
    /// once (default: three per CPU, at most the pool size); the others queue.
    #[arg(long, env = "FHIRGATE_DB_READ_CONCURRENCY")]
    pub db_read_concurrency: Option<usize>,
    /// Seconds to wait for a new database connection (libpq's connect_timeout
    /// too, unless the URL sets it); past it, and at once while the database is
    /// known to be down, requests get 503 (default 2).
    #[arg(long, env = "FHIRGATE_DB_CONNECT_TIMEOUT_SECS")]
    pub db_connect_timeout_secs: Option<u64>,
    /// HTTP worker threads (default: number of CPUs).
    #[arg(long, env = "FHIRGATE_HTTP_WORKERS")]
    pub http_workers: Option<usize>,
    /// PEM certificate chain for HTTPS (rustls); with --tls-key, the API is served over TLS.
    #[arg(long, env = "FHIRGATE_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS.
    #[arg(long, env = "FHIRGATE_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP on a non-loopback address because a proxy in front of
    /// the gateway terminates TLS (without TLS, a non-loopback address is refused).
    #[arg(long, env = "FHIRGATE_TLS_TERMINATED_UPSTREAM")]
    pub tls_terminated_upstream: bool,
    /// Most HTTP connections open at once, all clients together; more are closed
    /// at once (default: what the file-descriptor limit leaves, at most 10,000).
    #[arg(long, env = "FHIRGATE_HTTP_MAX_CONNECTIONS")]
    pub http_max_connections: Option<usize>,
    /// Most HTTP connections open at once from one client address (default: an
    /// eighth of --http-max-connections, at least 32; raise it behind a proxy).
    #[arg(long, env = "FHIRGATE_HTTP_MAX_CONNECTIONS_PER_ADDRESS")]
    pub http_max_connections_per_address: Option<usize>,
    /// Seconds for a request head to arrive (408 and close after; default 5).
    #[arg(long, env = "FHIRGATE_HTTP_HEADER_TIMEOUT_SECS")]
    pub http_header_timeout_secs: Option<u64>,
    /// Seconds for a request body to arrive once its head has (408 and close after;
    /// default 30).
    #[arg(long, env = "FHIRGATE_HTTP_BODY_TIMEOUT_SECS")]
    pub http_body_timeout_secs: Option<u64>,
    /// Most JSON values (objects, arrays, strings, numbers, booleans, nulls) in one
    /// resource; a Bundle's entries count each for itself (more get 413; default 100,000).
    #[arg(long, env = "FHIRGATE_MAX_JSON_NODES")]
    pub max_json_nodes: Option<usize>,
    /// Bytes of request bodies read and parsed at once, all requests together
    /// (default: half the memory at 80 bytes per body byte, at least --max-body-bytes).
    #[arg(long, env = "FHIRGATE_PARSE_BUDGET_BYTES")]
    pub parse_budget_bytes: Option<usize>,
    /// Milliseconds a request waits for its share of the parse budget before 503
    /// with Retry-After (default 2000).
    #[arg(long, env = "FHIRGATE_PARSE_BUDGET_WAIT_MS")]
    pub parse_budget_wait_ms: Option<u64>,
    #[command(flatten)]
    pub hl7: Hl7Args,
    #[command(flatten)]
    pub rate: RateArgs,
    #[command(flatten)]
    pub auth: AuthArgs,
}

/// The optional TOML file; every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    database_url: Option<String>,
    embedded_postgres: Option<bool>,
    data_dir: Option<PathBuf>,
    master_key_file: Option<PathBuf>,
    log_format: Option<LogFormat>,
    http_addr: Option<SocketAddr>,
    ops_addr: Option<SocketAddr>,
    base_url: Option<String>,
    allowed_hosts: Option<Vec<String>>,
    max_body_bytes: Option<usize>,
    max_bundle_entries: Option<usize>,
    db_pool_size: Option<u32>,
    db_read_concurrency: Option<usize>,
    db_connect_timeout_secs: Option<u64>,
    http_workers: Option<usize>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    tls_terminated_upstream: Option<bool>,
    http_max_connections: Option<usize>,
    http_max_connections_per_address: Option<usize>,
    http_header_timeout_secs: Option<u64>,
    http_body_timeout_secs: Option<u64>,
    max_json_nodes: Option<usize>,
    parse_budget_bytes: Option<usize>,
    parse_budget_wait_ms: Option<u64>,
    hl7: Option<Hl7File>,
    rate: Option<RateFile>,
    auth: Option<AuthFile>,
    db_serving_role: Option<String>,
    db_serving_url: Option<String>,
}

/// Settings resolved from all sources.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: Option<String>,
    pub embedded_postgres: bool,
    pub data_dir: PathBuf,
    pub master_key_file: Option<PathBuf>,
    pub log_format: LogFormat,
    pub http_addr: SocketAddr,
    /// Where /healthz, /readyz and /metrics are served: None, with the API.
    pub ops_addr: Option<SocketAddr>,
    pub base_url: Option<String>,
    pub allowed_hosts: Vec<String>,
    pub max_body_bytes: usize,
    pub max_bundle_entries: usize,
    pub db_pool_size: u32,
    pub db_read_concurrency: usize,
    pub db_connect_timeout: std::time::Duration,
    pub http_workers: usize,
    pub tls: Option<(PathBuf, PathBuf)>,
    /// TLS is terminated in front of the gateway (`bind.rs`).
    pub tls_terminated_upstream: bool,
    /// Connection caps, timeouts, JSON value limit and parse budget (issue #15).
    pub limits: HttpLimits,
    /// Rate limits of every tenant and client, unless a tenant has its own
    /// (issue #18, src/limits/rate.rs).
    pub rates: Rates,
    pub hl7: Hl7Settings,
    /// SMART on FHIR authorization (issue #17).
    pub auth: AuthSettings,
    /// The login requests are served through (store/role.rs).
    pub db_serving: DbServing,
    /// The tenant a command acts for (`--tenant`; `serve` serves them all).
    pub tenant: crate::tenant::TenantId,
}

/// The serving role (store/role.rs): its name, and its URL when configured.
#[derive(Debug, Clone)]
pub struct DbServing {
    pub role: String,
    pub url: Option<String>,
}

impl Default for DbServing {
    fn default() -> Self {
        Self {
            role: crate::config::DEFAULT_SERVING_ROLE.to_owned(),
            url: None,
        }
    }
}

/// The serving role's name unless configured (store/role.rs).
pub const DEFAULT_SERVING_ROLE: &str = "fhirgate_app";

/// Default limit of entries in one transaction or batch (issue #4).
pub const DEFAULT_MAX_BUNDLE_ENTRIES: usize = 10_000;
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// How long a request waits for a new database connection to be made (and
/// libpq for a server to answer, `connect_timeout`, unless the URL sets it):
/// short, so that an outage gives a quick 503 (`--db-connect-timeout-secs`).
pub const DEFAULT_DB_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

impl Settings {
    pub fn resolve(common: &CommonArgs, serve: &ServeArgs) -> anyhow::Result<Self> {
        let file = match &common.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                toml::from_str::<FileSettings>(&text)
                    .with_context(|| format!("parsing {}", path.display()))?
            }
            None => FileSettings::default(),
        };
        let database_url = common
            .database_url
            .clone()
            .or_else(|| std::env::var("DATABASE_URL").ok().filter(|s| !s.is_empty()))
            .or(file.database_url);
        let tls_cert = serve.tls_cert.clone().or(file.tls_cert);
        let tls_key = serve.tls_key.clone().or(file.tls_key);
        let tls = match (tls_cert, tls_key) {
            (Some(c), Some(k)) => Some((c, k)),
            (None, None) => None,
            _ => anyhow::bail!("--tls-cert and --tls-key go together"),
        };
        let hl7 = Hl7Settings::resolve(&serve.hl7, file.hl7.unwrap_or_default(), tls.as_ref())?;
        let auth = AuthSettings::resolve(&serve.auth, file.auth.unwrap_or_default());
        let rates = rate::resolve(&serve.rate, file.rate.unwrap_or_default())?;
        let default_addr = SocketAddr::from(([127, 0, 0, 1], 8080));
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        let db_pool_size = serve
            .db_pool_size
            .or(file.db_pool_size)
            .unwrap_or(16)
            .max(1);
        let max_body_bytes = serve
            .max_body_bytes
            .or(file.max_body_bytes)
            .unwrap_or(DEFAULT_MAX_BODY_BYTES);
        let given = HttpLimitsGiven {
            max_connections: serve.http_max_connections.or(file.http_max_connections),
            max_connections_per_address: serve
                .http_max_connections_per_address
                .or(file.http_max_connections_per_address),
            header_timeout_secs: serve
                .http_header_timeout_secs
                .or(file.http_header_timeout_secs),
            body_timeout_secs: serve.http_body_timeout_secs.or(file.http_body_timeout_secs),
            max_json_nodes: serve.max_json_nodes.or(file.max_json_nodes),
            parse_budget_bytes: serve.parse_budget_bytes.or(file.parse_budget_bytes),
            parse_budget_wait_ms: serve.parse_budget_wait_ms.or(file.parse_budget_wait_ms),
        };
        let limits = HttpLimits::derive(
            &given,
            Machine::detect(),
            db_pool_size,
            hl7.max_connections,
            max_body_bytes,
        );
        let tenant = match common.tenant.as_deref() {
            None => crate::tenant::TenantId::default_tenant(),
            Some(crate::tenant::TenantId::DEFAULT) => crate::tenant::TenantId::default_tenant(),
            // The server scope's keys and held HL7 messages (`keys rotate`).
            Some(crate::tenant::TenantId::SERVER) => crate::tenant::TenantId::server(),
            Some(slug) => crate::tenant::TenantId::parse_slug(slug).map_err(anyhow::Error::msg)?,
        };
        Ok(Self {
            tenant,
            database_url,
            embedded_postgres: common.embedded_postgres || file.embedded_postgres.unwrap_or(false),
            data_dir: common
                .data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from("data")),
            master_key_file: common.master_key_file.clone().or(file.master_key_file),
            log_format: common
                .log_format
                .or(file.log_format)
                .unwrap_or(LogFormat::Text),
            http_addr: serve.http_addr.or(file.http_addr).unwrap_or(default_addr),
            ops_addr: serve.ops_addr.or(file.ops_addr),
            base_url: serve.base_url.clone().or(file.base_url),
            allowed_hosts: if serve.allowed_hosts.is_empty() {
                file.allowed_hosts.unwrap_or_default()
            } else {
                serve.allowed_hosts.clone()
            },
            max_body_bytes,
            max_bundle_entries: serve
                .max_bundle_entries
                .or(file.max_bundle_entries)
                .unwrap_or(DEFAULT_MAX_BUNDLE_ENTRIES),
            db_pool_size,
            db_read_concurrency: serve
                .db_read_concurrency
                .or(file.db_read_concurrency)
                .unwrap_or(3 * cpus)
                .clamp(1, db_pool_size as usize),
            db_connect_timeout: serve
                .db_connect_timeout_secs
                .or(file.db_connect_timeout_secs)
                .map_or(DEFAULT_DB_CONNECT_TIMEOUT, |s| {
                    std::time::Duration::from_secs(s.max(1))
                }),
            http_workers: serve.http_workers.or(file.http_workers).unwrap_or(cpus),
            tls,
            tls_terminated_upstream: serve.tls_terminated_upstream
                || file.tls_terminated_upstream == Some(true),
            limits,
            rates,
            hl7,
            auth,
            db_serving: DbServing {
                role: common
                    .db_serving_role
                    .clone()
                    .or(file.db_serving_role)
                    .unwrap_or_else(|| DEFAULT_SERVING_ROLE.to_owned()),
                url: common.db_serving_url.clone().or(file.db_serving_url),
            },
        })
    }
}
