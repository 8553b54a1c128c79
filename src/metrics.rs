//! Process metrics at `GET /metrics`, in the Prometheus text exposition format
//! (https://prometheus.io/docs/instrumenting/exposition_formats/): HTTP responses
//! by status class, and the HL7 listener's counters.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::hl7::metrics::Hl7Metrics;

#[derive(Debug, Default)]
pub struct Metrics {
    /// HTTP responses by status class: 1xx..5xx.
    http: [AtomicU64; 5],
    pub hl7: Hl7Metrics,
}

impl Metrics {
    pub fn http_response(&self, status: u16) {
        let class = usize::from(status / 100).saturating_sub(1);
        if let Some(c) = self.http.get(class) {
            c.fetch_add(1, Ordering::Relaxed);
        }
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
        self.hl7.render(&mut out);
        out
    }
}
