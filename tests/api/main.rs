//! Integration tests: the real HTTP server against real Postgres, one fresh
//! database per test (cloned from a migrated template), run in parallel.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod helpers;
#[path = "../support/mod.rs"]
mod support;

mod audit;
mod audit_search;
mod auth_verified;
mod bad_input;
mod bad_input_bundles;
mod bundles;
mod bundles_cread;
mod bundles_more;
mod bundles_patch;
mod bundles_race;
mod bundles_retry;
mod bundles_rules;
mod cache_control;
mod concurrency;
mod crud;
mod decision_point;
mod encryption;
mod engine;
mod everything;
mod examples;
mod formats;
mod free_text_upgrade;
mod hl7;
mod hl7_client;
mod hl7_dedupe;
mod hl7_limits;
mod hl7_merge;
mod hl7_samples;
mod hl7_tenancy;
mod hl7_tls_clients;
mod host;
mod import;
mod import_as_put;
mod import_files;
mod invariants;
mod keys_rotate;
mod limits_fd;
mod limits_http;
mod limits_mllp;
mod lookups;
mod ops;
mod patch;
mod phi_text;
mod phi_text_gen;
mod rate_limits;
mod search;
mod search_ap;
mod search_audit;
mod search_chains;
mod search_common;
mod search_hostile;
mod search_ordered;
mod search_paging;
mod search_params;
mod search_population;
mod search_results;
mod search_text;
mod search_unions;
mod smart_backend;
mod smart_code;
mod smart_discovery;
mod smart_external;
mod smart_flow_tokens;
mod smart_introspect;
mod smart_keys;
mod smart_launch;
mod smart_pages;
mod smart_patient;
mod smart_refresh;
mod smart_revoke;
mod smart_support;
mod smart_tokens;
mod system;
mod tenancy;
mod tenancy_attacks;
mod tenancy_attacks_audit;
mod tenancy_attacks_search;
mod tenancy_attacks_support;
mod tenancy_attacks_writes;
mod tenancy_sessions;
mod tenants_cli;
mod unreadable;
