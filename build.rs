//! Rebuilds the crate when a migration is added or changed: `embed_migrations!`
//! (src/store/bootstrap.rs) reads `migrations/` at compile time, and without
//! this cargo would keep a binary whose embedded set is stale
//! (https://docs.rs/diesel_migrations/2/diesel_migrations/macro.embed_migrations.html).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
