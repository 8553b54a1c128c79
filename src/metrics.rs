//! Process metrics at `GET /metrics`, in the Prometheus text exposition format
//! (https://prometheus.io/docs/instrumenting/exposition_formats/): HTTP responses
//! by status class, the HTTP limits (issue #15), and the HL7 listener's counters.
//!
//! Counters are plain atomics that the HTTP and the HL7 side both bump, so
//! this module sits below both (docs/architecture.md, "Layers inside the
//! server"): the HL7 listener's counters are defined here too (`hl7.rs`).

pub mod hl7;
pub mod hl7_tenants;
pub mod tenants;

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use self::hl7::Hl7Metrics;
use crate::limits::budget::ParseBudget;
use crate::limits::gate::ConnGate;

#[derive(Debug, Default)]
pub struct Metrics {
    /// HTTP responses by status class: 1xx..5xx.
    http: [AtomicU64; 5],
    /// 408: a request body that did not arrive within the body timeout.
    pub body_timeouts: AtomicU64,
    /// 413: a resource over the JSON value limit.
    pub json_nodes_refused: AtomicU64,
    /// 503: no room in the parse budget within its wait.
    pub parse_budget_refused: AtomicU64,
    /// 429: the tenant's or the client's rate limit was spent (issue #18).
    pub rate_limited: AtomicU64,
    gate: OnceLock<Arc<ConnGate>>,
    budget: OnceLock<Arc<ParseBudget>>,
    pub hl7: Hl7Metrics,
    /// Per-tenant counters (labels by clinic).
    pub tenants: tenants::TenantMetrics,
}

fn counter(out: &mut String, name: &str, help: &str, value: u64) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} counter");
    let _ = writeln!(out, "{name} {value}");
}

fn gauge(out: &mut String, name: &str, help: &str, value: i64) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
    let _ = writeln!(out, "{name} {value}");
}

impl Metrics {
    pub fn http_response(&self, status: u16) {
        let class = usize::from(status / 100).saturating_sub(1);
        if let Some(c) = self.http.get(class) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The HTTP connection gate whose counters are reported (set once at start).
    pub fn set_gate(&self, gate: Arc<ConnGate>) {
        let _ = self.gate.set(gate);
    }

    /// The parse budget whose use is reported (set once at start).
    pub fn set_budget(&self, budget: Arc<ParseBudget>) {
        let _ = self.budget.set(budget);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP fhirgate_http_responses_total HTTP responses by status class"
        );
        let _ = writeln!(out, "# TYPE fhirgate_http_responses_total counter");
        for (i, c) in self.http.iter().enumerate() {
            let _ = writeln!(
                out,
                "fhirgate_http_responses_total{{class=\"{}xx\"}} {}",
                i + 1,
                c.load(Ordering::Relaxed)
            );
        }
        self.tenants.render(&mut out);
        self.render_limits(&mut out);
        self.hl7.render(&mut out);
        out
    }

    fn render_limits(&self, out: &mut String) {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        if let Some(gate) = self.gate.get() {
            let c = &gate.counters;
            gauge(
                out,
                "fhirgate_http_connections",
                "open HTTP connections",
                c.open.load(Ordering::Relaxed),
            );
            let name = "fhirgate_http_connections_refused_total";
            let _ = writeln!(
                out,
                "# HELP {name} HTTP connections closed at once: over the overall cap, or over the cap of their client address"
            );
            let _ = writeln!(out, "# TYPE {name} counter");
            let _ = writeln!(out, "{name}{{reason=\"cap\"}} {}", load(&c.refused_cap));
            let _ = writeln!(
                out,
                "{name}{{reason=\"address\"}} {}",
                load(&c.refused_address)
            );
        }
        counter(
            out,
            "fhirgate_http_body_timeouts_total",
            "requests answered 408: the body did not arrive within the body timeout",
            load(&self.body_timeouts),
        );
        counter(
            out,
            "fhirgate_http_json_nodes_refused_total",
            "requests answered 413: a resource over the JSON value limit",
            load(&self.json_nodes_refused),
        );
        counter(
            out,
            "fhirgate_http_parse_budget_refused_total",
            "requests answered 503: no room in the parse budget within its wait",
            load(&self.parse_budget_refused),
        );
        counter(
            out,
            "fhirgate_http_rate_limited_total",
            "requests answered 429: the rate limit of their tenant or client was spent",
            load(&self.rate_limited),
        );
        if let Some(b) = self.budget.get() {
            let as_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
            gauge(
                out,
                "fhirgate_http_parse_budget_bytes",
                "bytes of request bodies that may be read and parsed at once",
                as_i64(b.total_bytes()),
            );
            gauge(
                out,
                "fhirgate_http_parse_budget_in_use_bytes",
                "bytes of the parse budget held by requests now",
                as_i64(b.in_use_bytes()),
            );
        }
    }
}
