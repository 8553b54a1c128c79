//! The HL7 message counters per tenant (issue #18: each tenant has its own
//! metrics labels), beside the server-wide ones of `hl7.rs`: the same
//! outcomes, as `fhirgate_hl7_tenant_{name}_total{tenant="slug"}`. Messages no
//! tenant claims are counted under `_server`. A tenant's series appear with
//! its first message; slugs are `[a-z0-9-]` (and `_server`), so they need no
//! escaping as label values.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// One tenant's counters.
#[derive(Debug, Default)]
pub struct TenantHl7 {
    pub received: AtomicU64,
    pub accepted: AtomicU64,
    pub errored: AtomicU64,
    pub rejected: AtomicU64,
    pub duplicates: AtomicU64,
}

/// Which counter of a tenant's.
type Counter = fn(&TenantHl7) -> &AtomicU64;

#[derive(Debug, Default)]
pub struct Hl7ByTenant(RwLock<BTreeMap<String, Arc<TenantHl7>>>);

impl Hl7ByTenant {
    /// The counters of `tenant`, made on first use.
    pub fn of(&self, tenant: &str) -> Arc<TenantHl7> {
        if let Some(c) = self.0.read().ok().and_then(|m| m.get(tenant).cloned()) {
            return c;
        }
        match self.0.write() {
            Ok(mut m) => m.entry(tenant.to_owned()).or_default().clone(),
            // A poisoned map (a panic while inserting): count nowhere rather than fail.
            Err(_) => Arc::default(),
        }
    }

    pub fn render(&self, out: &mut String) {
        let Ok(map) = self.0.read() else { return };
        if map.is_empty() {
            return;
        }
        let names: [(&str, &str, Counter); 5] = [
            ("received", "HL7 v2 messages received, by tenant", |t| {
                &t.received
            }),
            ("accepted", "messages answered AA, by tenant", |t| {
                &t.accepted
            }),
            ("errored", "messages answered AE, by tenant", |t| &t.errored),
            ("rejected", "messages answered AR, by tenant", |t| {
                &t.rejected
            }),
            (
                "duplicates",
                "messages answered with their original ACK, by tenant",
                |t| &t.duplicates,
            ),
        ];
        for (name, help, get) in names {
            let _ = writeln!(out, "# HELP fhirgate_hl7_tenant_{name}_total {help}");
            let _ = writeln!(out, "# TYPE fhirgate_hl7_tenant_{name}_total counter");
            for (tenant, c) in map.iter() {
                let _ = writeln!(
                    out,
                    "fhirgate_hl7_tenant_{name}_total{{tenant=\"{tenant}\"}} {}",
                    get(c).load(Ordering::Relaxed)
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_tenant_has_its_labelled_series() {
        let m = Hl7ByTenant::default();
        let mut out = String::new();
        m.render(&mut out);
        assert!(out.is_empty());
        m.of("clinic-a").accepted.fetch_add(2, Ordering::Relaxed);
        m.of("_server").rejected.fetch_add(1, Ordering::Relaxed);
        m.render(&mut out);
        assert!(out.contains("fhirgate_hl7_tenant_accepted_total{tenant=\"clinic-a\"} 2\n"));
        assert!(out.contains("fhirgate_hl7_tenant_rejected_total{tenant=\"_server\"} 1\n"));
        assert!(out.contains("fhirgate_hl7_tenant_rejected_total{tenant=\"clinic-a\"} 0\n"));
    }
}
