//! Storage: the internal diesel-managed Postgres schema and its repositories.
//!
//! All database work is synchronous diesel on pooled connections, run through
//! exactly one helper ([`Db::run`]) that moves it onto tokio's blocking pool, so
//! no async task ever blocks on I/O.

pub mod audit;
pub mod bookings;
pub mod bootstrap;
pub mod cluster;
pub mod error;
pub mod hl7;
pub mod index;
pub mod keys;
pub mod pool;
pub mod resources;
pub mod schema;
pub mod statistics;

pub use error::StoreError;
pub use pool::Db;
