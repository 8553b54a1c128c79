//! Storage: the internal diesel-managed Postgres schema and its repositories.
//!
//! All database work is synchronous diesel on pooled connections, run through
//! exactly one helper ([`Db::run`]) that moves it onto tokio's blocking pool, so
//! no async task ever blocks on I/O.

pub mod audit;
pub mod auth;
pub(crate) mod batch;
pub mod bookings;
pub mod bootstrap;
pub mod cluster;
pub mod error;
pub mod health;
pub mod hl7;
pub mod index;
pub mod keys;
pub mod pool;
pub mod resources;
pub mod role;
pub mod schema;
pub mod session;
pub mod statistics;
pub mod stmt;
pub mod tenant_reads;
pub mod tenants;
pub mod writes;

pub use error::{StoreError, Unreadable};

/// Initialises OpenSSL before libpq does. libpq's own initialisation registers
/// OpenSSL's atexit cleanup, which then frees OpenSSL's state at process exit
/// while other threads (a blocking-pool thread sealing a value, a pooled
/// connection) may still use it: seen as a rare SIGSEGV when a test binary
/// exits. rust-openssl initialises with OPENSSL_INIT_NO_ATEXIT
/// (https://docs.openssl.org/3.0/man3/OPENSSL_init_crypto/), and the first
/// initialisation decides. Called before every first connection.
pub fn init_openssl() {
    openssl::init();
}
pub use pool::Db;
