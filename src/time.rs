//! Timestamps as the gateway stores and writes them. Here, below every layer
//! that needs them (the store, AuditEvents, FHIR `meta`), so that none of
//! those imports a higher one for them (docs/architecture.md, "Layers inside
//! the server").

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};

/// A timestamp as stored: millisecond precision, so the database value and the
/// meta.lastUpdated text are the same instant.
pub fn now_ms() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}

/// A FHIR `instant` (datatypes.html#instant): RFC 3339 with milliseconds, in UTC.
pub fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}
