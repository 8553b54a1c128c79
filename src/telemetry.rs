//! Logging. Policy: no PHI in any log line at any level. Handlers that touch
//! resource bodies use `#[tracing::instrument(skip(...))]` and log only resource
//! types, ids (server-assigned or validated `[A-Za-z0-9-.]` ids, not PHI by
//! themselves), statuses and timings.

use tracing_subscriber::{fmt, prelude::*, EnvFilter};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Installs the global subscriber; filter from `FHIRGATE_LOG`, then `RUST_LOG`,
/// default `info`. Safe to call more than once (later calls are no-ops), which
/// the tests rely on.
pub fn init(format: LogFormat) {
    init_with_default(format, "info");
}

/// [`init`] with another default level (the import logs only warnings).
pub fn init_with_default(format: LogFormat, default: &str) {
    let filter = std::env::var("FHIRGATE_LOG")
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(default));
    let registry = tracing_subscriber::registry().with(filter);
    let result = match format {
        LogFormat::Json => registry
            .with(fmt::layer().json().with_current_span(false))
            .try_init(),
        LogFormat::Text => registry.with(fmt::layer().with_target(false)).try_init(),
    };
    drop(result);
}
