//! Which tenant an HL7 v2 message is for (issue #18). Pure: the configuration
//! (`config/hl7/routes.rs`), the connection (its listener, its client
//! certificate's grant) and the message's MSH decide; `router.rs` acts on it.
//!
//! Three sources may name a tenant:
//! - the listener: a `--mllp-tenant-addr` listener names its tenant; the main
//!   plain and TLS listeners name none;
//! - the client certificate: the tenant of the `client_certs` entries that
//!   permit the message's sender (MSH-3/MSH-4);
//! - the receiver: the most specific `--hl7-route` whose `MSH-5^MSH-6`
//!   pattern matches the receiving application and facility (HL7 v2.5.1
//!   section 2.14.9.5-6, HD.1 of each); a route naming both beats one with a
//!   `*`. `*^*` names no receiver: it is the fallback, used only when no
//!   other source names a tenant, so it never conflicts with one.
//!
//! One tenant named (by one source or several agreeing): the message is that
//! tenant's. Two different tenants named: no tenant (a message of clinic B
//! arriving on clinic A's route is refused, not delivered to either). None
//! named: the fallback route's tenant, else no tenant; and when no routing is
//! configured at all, the default tenant (as before tenancy).

use fhirgate_hl7::ack::{AckError, ErrorCode, ErrorLocation, Outcome};
use fhirgate_hl7::Message;

use super::config::clients::SenderGrant;
use super::config::Hl7Settings;
use super::Hl7Error;
use crate::tenant::TenantId;

/// Where a message came in.
#[derive(Debug, Clone, Copy, Default)]
pub struct Via<'a> {
    /// The tenant of the listener, for a tenant listener.
    pub listener: Option<&'a TenantId>,
    /// What the connection's client certificate may send as (None: no mapping).
    pub grant: Option<&'a SenderGrant>,
}

/// The outcome of routing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    Tenant(TenantId),
    /// No tenant: why, for the operator (sources and tenant slugs; never a
    /// value from the message).
    Unrouted(String),
}

const LISTENER: &str = "the listener";
const CERTIFICATE: &str = "the client certificate";
const RECEIVER: &str = "MSH-5/MSH-6";

/// The tenant of `msg` (None: it did not parse, so only the listener speaks).
pub fn resolve(settings: &Hl7Settings, via: Via<'_>, msg: Option<&Message>) -> Resolved {
    if !settings.routes_messages() {
        return Resolved::Tenant(TenantId::default_tenant());
    }
    let msh = msg.and_then(Message::msh);
    let mut named: Vec<(&str, TenantId)> = Vec::new();
    if let Some(t) = via.listener {
        named.push((LISTENER, t.clone()));
    }
    if let (Some(grant), Some(m)) = (via.grant, msh) {
        for t in grant.tenants_for(m.get(3, 1), m.get(4, 1)) {
            named.push((CERTIFICATE, t));
        }
    }
    let mut fallback = None;
    if let Some(m) = msh {
        let (application, facility) = (m.get(5, 1), m.get(6, 1));
        let matching: Vec<_> = settings
            .routing
            .routes
            .iter()
            .filter(|r| r.receiver.matches(application, facility))
            .collect();
        let best = matching.iter().map(|r| r.specificity()).max().unwrap_or(0);
        for r in &matching {
            if r.specificity() == 0 {
                fallback = Some(r.tenant.clone());
            } else if r.specificity() == best {
                named.push((RECEIVER, r.tenant.clone()));
            }
        }
    }
    let mut tenants: Vec<&TenantId> = named.iter().map(|(_, t)| t).collect();
    tenants.sort();
    tenants.dedup();
    match tenants.as_slice() {
        [one] => Resolved::Tenant((*one).clone()),
        [] => match fallback {
            Some(t) => Resolved::Tenant(t),
            None => Resolved::Unrouted(
                "no listener, client certificate or MSH-5/MSH-6 route names a tenant".into(),
            ),
        },
        _ => {
            let said: Vec<String> = named.iter().map(|(s, t)| format!("{s}: {t}")).collect();
            Resolved::Unrouted(format!("the sources disagree ({})", said.join(", ")))
        }
    }
}

/// The AR of a message that is no tenant's: the same for every reason (no
/// route, routes that disagree, a tenant unknown or disabled), so that the
/// sender learns nothing of another clinic, not even that it exists.
///
/// AR, not AE (v2.5.1 section 2.9.2, table 0008): the message as a whole is
/// not acceptable on this connection, and resending it will not help. ERR-3
/// is table 0357 code 103 "Table value not found" at MSH-6 (section 2.15.8:
/// ERR-2 error location, ERR-3 HL7 error code): MSH-5.1 and MSH-6.1 are IS
/// values of the site-defined tables 0361 Application and 0362 Facility
/// (2.14.9.5-6), and for this connection that table is the receivers it
/// delivers to; 103 is "a field of data type ID or IS was compared against
/// the corresponding table, and no match was found", which tells the
/// sender's operator what to look at (the receiving facility, or the
/// connection it used). The sender check (`senders.rs`) answers a sender
/// outside its certificate's mapping the same way, at MSH-3/MSH-4. 207
/// "Application internal error" would blame the gateway, and invite the
/// sender to resend a message that will never be taken. MSH-6 rather than
/// MSH-5 whatever the route: the facility is what names a clinic, and one
/// location for every case keeps the answers alike.
pub fn refusal(reason: &str) -> Hl7Error {
    let location = ErrorLocation {
        component: Some(1),
        ..ErrorLocation::field("MSH", 1, 6)
    };
    Hl7Error {
        outcome: Outcome::Rejected,
        errors: vec![AckError::new(
            ErrorCode::TableValueNotFound,
            Some(location),
            "no clinic of this gateway takes this message on this connection \
             (MSH-5/MSH-6 receiving application and facility)",
        )],
        summary: format!(
            "no tenant for the message (103 Table value not found at MSH-6): {reason}"
        ),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::hl7::clients::{rule_of_flag, ClientAuth};
    use crate::config::hl7::routes;

    fn t(s: &str) -> TenantId {
        TenantId::parse_slug(s).unwrap()
    }

    /// A message from `APP^FACILITY` to `APP^FACILITY` (MSH-3/4 and MSH-5/6).
    fn msg(sender: &str, receiver: &str) -> Message {
        let (sender, receiver) = (sender.replace('^', "|"), receiver.replace('^', "|"));
        let raw = format!(
            "MSH|^~\\&|{sender}|{receiver}|20240101120000||ADT^A01|C1|P|2.5.1\rPID|1||MRN-1\r"
        );
        fhirgate_hl7::parse(raw.as_bytes()).unwrap()
    }

    fn settings(routes: &[&str], certs: &[&str]) -> Hl7Settings {
        let routes: Vec<String> = routes.iter().map(|r| (*r).to_owned()).collect();
        let mut s = Hl7Settings {
            routing: routes::resolve(&[], &[], &[], &routes).unwrap(),
            ..Hl7Settings::default()
        };
        if !certs.is_empty() {
            s.client_auth = Some(ClientAuth {
                ca: "ca.pem".into(),
                required: true,
                rules: certs.iter().map(|c| rule_of_flag(c).unwrap()).collect(),
            });
        }
        s
    }

    fn grant(s: &Hl7Settings) -> SenderGrant {
        let id = crate::config::hl7::clients::ClientIdentity {
            fingerprint: [1; 32],
            cn: Some("lab-1".into()),
        };
        s.client_auth
            .as_ref()
            .unwrap()
            .senders_for(Some(&id))
            .unwrap()
    }

    fn tenant(r: Resolved) -> String {
        match r {
            Resolved::Tenant(t) => t.as_str().to_owned(),
            Resolved::Unrouted(why) => format!("none: {why}"),
        }
    }

    #[test]
    fn without_routing_every_message_is_the_default_tenants() {
        let s = Hl7Settings::default();
        let m = msg("LAB^HOSP", "LIS^CLINIC_B");
        assert_eq!(tenant(resolve(&s, Via::default(), Some(&m))), "default");
        assert_eq!(tenant(resolve(&s, Via::default(), None)), "default");
    }

    #[test]
    fn a_route_a_listener_or_a_certificate_names_the_tenant() {
        let s = settings(&["clinic-b=*^CLINIC_B"], &["cn:lab-1=LAB^HOSP@clinic-c"]);
        let a = t("clinic-a");
        let on_a = Via {
            listener: Some(&a),
            grant: None,
        };
        let m = msg("X^Y", "LIS^CLINIC_B");
        assert_eq!(tenant(resolve(&s, Via::default(), Some(&m))), "clinic-b");
        let other = msg("X^Y", "LIS^ELSEWHERE");
        assert_eq!(tenant(resolve(&s, on_a, Some(&other))), "clinic-a");
        // An unparsed message: only the listener can say.
        assert_eq!(tenant(resolve(&s, on_a, None)), "clinic-a");
        assert!(tenant(resolve(&s, Via::default(), None)).starts_with("none"));
        let g = grant(&s);
        let tls = Via {
            listener: None,
            grant: Some(&g),
        };
        let lab = msg("LAB^HOSP", "LIS^ELSEWHERE");
        assert_eq!(tenant(resolve(&s, tls, Some(&lab))), "clinic-c");
        // Agreeing sources are one tenant.
        let s2 = settings(&["clinic-c=*^CLINIC_C"], &["cn:lab-1=LAB^HOSP@clinic-c"]);
        let g2 = grant(&s2);
        let both = Via {
            listener: None,
            grant: Some(&g2),
        };
        let m = msg("LAB^HOSP", "LIS^CLINIC_C");
        assert_eq!(tenant(resolve(&s2, both, Some(&m))), "clinic-c");
    }

    #[test]
    fn sources_naming_different_tenants_route_nowhere() {
        let s = settings(&["clinic-b=*^CLINIC_B"], &["cn:lab-1=LAB^HOSP@clinic-c"]);
        let a = t("clinic-a");
        let on_a = Via {
            listener: Some(&a),
            grant: None,
        };
        // Clinic B's message on clinic A's listener.
        let m = msg("X^Y", "LIS^CLINIC_B");
        let why = tenant(resolve(&s, on_a, Some(&m)));
        assert!(why.starts_with("none: the sources disagree"), "{why}");
        assert!(
            why.contains("clinic-a") && why.contains("clinic-b"),
            "{why}"
        );
        assert!(!why.contains("CLINIC_B"), "no message value: {why}");
        // The certificate's clinic C, MSH-6 clinic B.
        let g = grant(&s);
        let tls = Via {
            listener: None,
            grant: Some(&g),
        };
        let lab = msg("LAB^HOSP", "LIS^CLINIC_B");
        assert!(tenant(resolve(&s, tls, Some(&lab))).starts_with("none"));
        // Nothing names one while routing is configured.
        let nowhere = msg("X^Y", "LIS^ELSEWHERE");
        let why = tenant(resolve(&s, Via::default(), Some(&nowhere)));
        assert!(why.starts_with("none: no listener"), "{why}");
    }

    #[test]
    fn the_most_specific_route_wins_and_star_star_is_the_fallback() {
        let s = settings(
            &[
                "clinic-a=LIS^CLINIC",
                "clinic-b=*^CLINIC",
                "clinic-c=RAD^*",
                "default=*^*",
            ],
            &[],
        );
        let r = |snd: &str, rcv: &str, via: Via<'_>| tenant(resolve(&s, via, Some(&msg(snd, rcv))));
        assert_eq!(r("X^Y", "LIS^CLINIC", Via::default()), "clinic-a");
        assert_eq!(r("X^Y", "PHARM^CLINIC", Via::default()), "clinic-b");
        assert_eq!(r("X^Y", "RAD^OTHER", Via::default()), "clinic-c");
        assert_eq!(r("X^Y", "PHARM^OTHER", Via::default()), "default");
        // Two routes as specific as each other naming different tenants.
        assert!(r("X^Y", "RAD^CLINIC", Via::default()).starts_with("none"));
        // The fallback yields to a listener.
        let d = t("clinic-d");
        let on_d = Via {
            listener: Some(&d),
            grant: None,
        };
        assert_eq!(r("X^Y", "PHARM^OTHER", on_d), "clinic-d");
    }

    #[test]
    fn the_refusal_is_ar_103_at_msh_6_and_names_no_tenant() {
        let e = refusal("the sources disagree (the listener: clinic-a, MSH-5/MSH-6: clinic-b)");
        assert_eq!(e.ack_code(), "AR");
        assert_eq!(e.code(), 103);
        let err = e.errors.first().unwrap();
        let loc = err.location.clone().unwrap();
        assert_eq!((loc.segment.as_str(), loc.field), ("MSH", Some(6)));
        let ack = crate::hl7::ack::for_error(&msg("X^Y", "LIS^CLINIC_B"), &e);
        let text = String::from_utf8(ack.concat()).unwrap();
        assert!(!text.contains("clinic-"), "{text}");
        assert!(text.contains("|AR|C1"), "{text}");
    }
}
