//! Per-tenant counters (issue #18: "metrics labels" per clinic): HTTP
//! responses by status class for each tenant's base. A tenant's counters exist
//! once its site is built (fhir/tenancy.rs), so a request to a made-up slug
//! adds no label: the label set is bounded by the tenants table.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

#[derive(Debug, Default)]
pub struct TenantCounters {
    /// Responses by status class: 1xx..5xx.
    http: [AtomicU64; 5],
}

impl TenantCounters {
    pub fn http_response(&self, status: u16) {
        let class = usize::from(status / 100).saturating_sub(1);
        if let Some(c) = self.http.get(class) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[derive(Debug, Default)]
pub struct TenantMetrics {
    tenants: RwLock<BTreeMap<String, Arc<TenantCounters>>>,
}

impl TenantMetrics {
    /// The counters of `tenant` (made on first use; kept by its site).
    pub fn of(&self, tenant: &str) -> Arc<TenantCounters> {
        if let Some(c) = self
            .tenants
            .read()
            .ok()
            .and_then(|m| m.get(tenant).cloned())
        {
            return c;
        }
        match self.tenants.write() {
            Ok(mut m) => m.entry(tenant.to_owned()).or_default().clone(),
            Err(_) => Arc::default(),
        }
    }

    pub fn render(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP fhirgate_tenant_http_responses_total HTTP responses of each tenant's FHIR base by status class"
        );
        let _ = writeln!(out, "# TYPE fhirgate_tenant_http_responses_total counter");
        let Ok(map) = self.tenants.read() else { return };
        for (tenant, c) in map.iter() {
            for (i, n) in c.http.iter().enumerate() {
                // Slugs are [a-z0-9-] (tenant.rs): nothing to escape in a label.
                let _ = writeln!(
                    out,
                    "fhirgate_tenant_http_responses_total{{tenant=\"{tenant}\",class=\"{}xx\"}} {}",
                    i + 1,
                    n.load(Ordering::Relaxed)
                );
            }
        }
    }
}
