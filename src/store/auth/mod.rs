//! The authorization server's tables (migration 000012, issue #17): signing
//! keys, clients, users, grants, codes, refresh tokens, assertion ids, EHR
//! launches and revocations. Values in, values out: sealing, hashing and
//! token logic live in `auth`.

pub mod clients;
pub mod grants;
pub mod keys;
pub mod revocations;
pub mod users;

pub use clients::ClientRow;
