//! Integration tests: the real HTTP server against real Postgres, one fresh
//! database per test (cloned from a migrated template), run in parallel.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod helpers;

mod audit;
mod audit_search;
mod bad_input;
mod bad_input_bundles;
mod bundles;
mod bundles_more;
mod bundles_patch;
mod bundles_race;
mod bundles_retry;
mod cache_control;
mod concurrency;
mod crud;
mod encryption;
mod everything;
mod examples;
mod formats;
mod hl7;
mod hl7_client;
mod hl7_dedupe;
mod hl7_limits;
mod hl7_merge;
mod hl7_samples;
mod host;
mod import;
mod import_files;
mod keys_rotate;
mod lookups;
mod patch;
mod search;
mod search_audit;
mod search_chains;
mod search_common;
mod search_hostile;
mod search_ordered;
mod search_paging;
mod search_params;
mod search_population;
mod search_results;
mod search_unions;
mod system;
mod unreadable;
