//! Which tenant an HL7 v2 message is for (issue #18): listeners bound to one
//! tenant, and routes from the receiving application and facility (MSH-5 and
//! MSH-6, HL7 v2.5.1 section 2.14.9.5-6) to a tenant. The third source, the
//! TLS client certificate, is configured with the certificate's senders
//! (`clients.rs`, `tenant` of an `[[hl7.client_certs]]` entry). How the three
//! are combined for one message is `hl7/route.rs`.

use std::net::SocketAddr;

use serde::Deserialize;

use super::clients::SenderPattern;
use super::Hl7Settings;
use crate::tenant::TenantId;

/// One `[[hl7.tenant_listeners]]` entry of the TOML file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantListenerFile {
    pub tenant: String,
    pub addr: SocketAddr,
}

/// One `[[hl7.routes]]` entry of the TOML file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteFile {
    pub tenant: String,
    /// `MSH-5^MSH-6` patterns, `*` for any value of a component.
    pub receivers: Vec<String>,
}

/// A plain MLLP listener whose messages are all for one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantListener {
    pub tenant: TenantId,
    pub addr: SocketAddr,
}

/// Messages to a receiving application and facility go to a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverRoute {
    /// `MSH-5.1^MSH-6.1`: the namespace ids (HD.1) of the receiving
    /// application and facility, matched as sender patterns are.
    pub receiver: SenderPattern,
    pub tenant: TenantId,
}

impl ReceiverRoute {
    /// How many components the pattern names (0 for `*^*`): the more, the
    /// more specific the route.
    pub fn specificity(&self) -> u8 {
        u8::from(self.receiver.application.is_some()) + u8::from(self.receiver.facility.is_some())
    }
}

/// The routing configuration; empty: every message is the default tenant's,
/// as before tenancy.
#[derive(Debug, Clone, Default)]
pub struct Routing {
    pub listeners: Vec<TenantListener>,
    pub routes: Vec<ReceiverRoute>,
}

/// A clinic's slug, or `default` (`_server` is no slug, so no route reaches it).
fn tenant_of(s: &str, what: &str) -> anyhow::Result<TenantId> {
    TenantId::parse_slug(s).map_err(|e| anyhow::anyhow!("{what}: {e}"))
}

fn receiver_of(s: &str) -> anyhow::Result<SenderPattern> {
    SenderPattern::parse(s).map_err(|_| {
        anyhow::anyhow!(
            "receiver {s:?} is not MSH-5^MSH-6 (e.g. LIS^CLINIC_A, LIS^* or *^CLINIC_A)"
        )
    })
}

/// The routing settings from the TOML file and the flags
/// (`--mllp-tenant-addr SLUG=ADDR`, `--hl7-route SLUG=MSH5^MSH6[,...]`).
pub fn resolve(
    file_listeners: &[TenantListenerFile],
    file_routes: &[RouteFile],
    flag_listeners: &[String],
    flag_routes: &[String],
) -> anyhow::Result<Routing> {
    let mut routing = Routing::default();
    for l in file_listeners {
        routing.listeners.push(TenantListener {
            tenant: tenant_of(&l.tenant, "[[hl7.tenant_listeners]] tenant")?,
            addr: l.addr,
        });
    }
    for flag in flag_listeners {
        let bad = || anyhow::anyhow!("--mllp-tenant-addr takes SLUG=ADDR, not {flag:?}");
        let (slug, addr) = flag.split_once('=').ok_or_else(bad)?;
        routing.listeners.push(TenantListener {
            tenant: tenant_of(slug, "--mllp-tenant-addr")?,
            addr: addr.parse().map_err(|_| bad())?,
        });
    }
    let mut add = |tenant: TenantId, receivers: &mut dyn Iterator<Item = &str>| {
        for r in receivers {
            let receiver = receiver_of(r)?;
            // The same receiver for two tenants is a mistake, not a choice.
            if let Some(other) = routing.routes.iter().find(|o| o.receiver == receiver) {
                anyhow::ensure!(
                    other.tenant == tenant,
                    "receiver {r:?} is routed to both {} and {tenant}",
                    other.tenant
                );
                continue;
            }
            routing.routes.push(ReceiverRoute {
                receiver,
                tenant: tenant.clone(),
            });
        }
        anyhow::Ok(())
    };
    for r in file_routes {
        anyhow::ensure!(
            !r.receivers.is_empty(),
            "an [[hl7.routes]] entry needs receivers"
        );
        let tenant = tenant_of(&r.tenant, "[[hl7.routes]] tenant")?;
        add(tenant, &mut r.receivers.iter().map(String::as_str))?;
    }
    for flag in flag_routes {
        let (slug, receivers) = flag.split_once('=').ok_or_else(|| {
            anyhow::anyhow!("--hl7-route takes SLUG=MSH5^MSH6[,MSH5^MSH6...], not {flag:?}")
        })?;
        add(tenant_of(slug, "--hl7-route")?, &mut receivers.split(','))?;
    }
    Ok(routing)
}

impl Hl7Settings {
    /// Whether messages are routed at all: a tenant listener, a receiver
    /// route, or a client certificate naming a tenant. Without any, every
    /// message is the default tenant's (the configuration before tenancy
    /// keeps working unchanged).
    pub fn routes_messages(&self) -> bool {
        !self.routing.listeners.is_empty()
            || !self.routing.routes.is_empty()
            || self
                .client_auth
                .as_ref()
                .is_some_and(|a| a.rules.iter().any(|r| r.tenant.is_some()))
    }

    /// Every tenant the configuration names (to warn about those not served).
    pub fn routed_tenants(&self) -> Vec<&TenantId> {
        let mut out: Vec<&TenantId> = self
            .routing
            .listeners
            .iter()
            .map(|l| &l.tenant)
            .chain(self.routing.routes.iter().map(|r| &r.tenant))
            .chain(
                self.client_auth
                    .iter()
                    .flat_map(|a| a.rules.iter().filter_map(|r| r.tenant.as_ref())),
            )
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn listeners_and_routes_from_flags_and_file() {
        let file = [RouteFile {
            tenant: "clinic-a".into(),
            receivers: vec!["LIS^CLINIC_A".into()],
        }];
        let listeners = [TenantListenerFile {
            tenant: "clinic-c".into(),
            addr: "127.0.0.1:2580".parse().unwrap(),
        }];
        let r = resolve(
            &listeners,
            &file,
            &["clinic-b=127.0.0.1:2581".into()],
            &["clinic-b=*^CLINIC_B,RAD^*".into(), "default=*^*".into()],
        )
        .unwrap();
        assert_eq!(r.listeners.len(), 2);
        assert_eq!(r.listeners[1].tenant.as_str(), "clinic-b");
        assert_eq!(r.routes.len(), 4);
        assert_eq!(r.routes[0].specificity(), 2);
        assert_eq!(r.routes[1].specificity(), 1);
        assert_eq!(r.routes[3].specificity(), 0);
        assert!(r.routes[3].tenant.is_default());
    }

    #[test]
    fn the_file_names_listeners_routes_and_certificate_tenants() {
        let file: super::super::Hl7File = toml::from_str(
            r#"
            mllp_tls_addr = "127.0.0.1:2576"
            mllp_tls_client_ca = "clients-ca.pem"
            [[tenant_listeners]]
            tenant = "clinic-a"
            addr = "127.0.0.1:2577"
            [[routes]]
            tenant = "clinic-b"
            receivers = ["*^CLINIC_B"]
            [[client_certs]]
            cn = "lab-c"
            senders = ["LAB^C"]
            tenant = "clinic-c"
            "#,
        )
        .unwrap();
        let https = ("c.pem".into(), "k.pem".into());
        let s = Hl7Settings::resolve(&Default::default(), file, Some(&https)).unwrap();
        assert!(s.routes_messages());
        let named: Vec<&str> = s.routed_tenants().iter().map(|t| t.as_str()).collect();
        assert_eq!(named, ["clinic-a", "clinic-b", "clinic-c"]);
        assert!(!Hl7Settings::default().routes_messages());
        // Tenant listeners are plain MLLP: loopback unless allowed.
        let mut open = Hl7Settings::default();
        open.routing.listeners.push(TenantListener {
            tenant: TenantId::default_tenant(),
            addr: "0.0.0.0:2577".parse().unwrap(),
        });
        assert!(open.check_exposure().is_err());
    }

    #[test]
    fn mistakes_are_refused() {
        for (l, r) in [
            (vec!["clinic-a"], vec![]),
            (vec!["clinic-a=nowhere"], vec![]),
            (vec!["_server=127.0.0.1:1"], vec![]),
            (vec!["Clinic=127.0.0.1:1"], vec![]),
            (vec![], vec!["clinic-a"]),
            (vec![], vec!["clinic-a=LIS"]),
            (vec![], vec!["clinic-a=^X"]),
            (vec![], vec!["_server=*^*"]),
            (vec![], vec!["clinic-a=LIS^X", "clinic-b=LIS^X"]),
        ] {
            let l: Vec<String> = l.into_iter().map(str::to_owned).collect();
            let r: Vec<String> = r.into_iter().map(str::to_owned).collect();
            assert!(resolve(&[], &[], &l, &r).is_err(), "{l:?} {r:?}");
        }
        // The same receiver twice for one tenant is harmless.
        let twice = ["clinic-a=LIS^X".to_owned(), "clinic-a=LIS^X".to_owned()];
        assert_eq!(resolve(&[], &[], &[], &twice).unwrap().routes.len(), 1);
    }
}
