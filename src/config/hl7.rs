//! Settings of the MLLP listeners and the HL7 v2 mapping (`fhirgate serve --help`).

pub mod clients;
pub mod routes;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use self::clients::{ClientAuth, ClientCertFile};
use self::routes::{RouteFile, Routing, TenantListenerFile};

/// MLLP flags of `fhirgate serve`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Hl7Args {
    /// Address of the plain MLLP listener (HL7 v2 over TCP).
    #[arg(long, env = "FHIRGATE_MLLP_ADDR")]
    pub mllp_addr: Option<SocketAddr>,
    /// Turn the plain MLLP listener off.
    #[arg(long, env = "FHIRGATE_MLLP_DISABLED")]
    pub mllp_disabled: bool,
    /// Address of the MLLP-over-TLS listener (off unless set). Uses --mllp-tls-cert and
    /// --mllp-tls-key, or else the HTTPS --tls-cert and --tls-key.
    #[arg(long, env = "FHIRGATE_MLLP_TLS_ADDR")]
    pub mllp_tls_addr: Option<SocketAddr>,
    /// PEM certificate chain for MLLP over TLS.
    #[arg(long, env = "FHIRGATE_MLLP_TLS_CERT")]
    pub mllp_tls_cert: Option<PathBuf>,
    /// PEM private key for MLLP over TLS.
    #[arg(long, env = "FHIRGATE_MLLP_TLS_KEY")]
    pub mllp_tls_key: Option<PathBuf>,
    /// PEM bundle of the CAs that sign MLLP client certificates: with it the TLS
    /// listener requires a client certificate chaining to one of them.
    #[arg(long, env = "FHIRGATE_MLLP_TLS_CLIENT_CA")]
    pub mllp_tls_client_ca: Option<PathBuf>,
    /// With --mllp-tls-client-ca, also accept TLS clients without a certificate
    /// (where senders are mapped to certificates, they may send as nobody).
    #[arg(long, env = "FHIRGATE_MLLP_TLS_CLIENT_CERT_OPTIONAL")]
    pub mllp_tls_client_cert_optional: bool,
    /// Senders (MSH-3^MSH-4, `*` for any) a client certificate may send as, as
    /// cn:NAME=SENDERS or sha256:FINGERPRINT=SENDERS (comma-separated), with
    /// @SLUG after SENDERS for the clinic their messages are for; repeatable,
    /// added to the TOML file's [[hl7.client_certs]]. Once any is given, a
    /// message from a sender its certificate is not mapped to gets AR.
    #[arg(long = "mllp-tls-client-sender", value_name = "CERT=SENDERS[@SLUG]")]
    pub mllp_tls_client_senders: Vec<String>,
    /// A plain MLLP listener whose every message is for one clinic, as
    /// SLUG=ADDR; repeatable, added to the TOML file's [[hl7.tenant_listeners]].
    #[arg(long = "mllp-tenant-addr", value_name = "SLUG=ADDR")]
    pub mllp_tenant_addrs: Vec<String>,
    /// Messages to these receiving applications and facilities (MSH-5^MSH-6,
    /// `*` for any, comma-separated) are for the clinic SLUG; repeatable,
    /// added to the TOML file's [[hl7.routes]]. With any routing configured,
    /// a message no listener, certificate or route gives a clinic gets AR.
    #[arg(long = "hl7-route", value_name = "SLUG=MSH5^MSH6")]
    pub hl7_routes: Vec<String>,
    /// Allow the plain (non-TLS) MLLP listener on a non-loopback address (refused
    /// by default: HL7 v2 carries PHI in the clear and senders are not authenticated).
    #[arg(long, env = "FHIRGATE_MLLP_ALLOW_PLAIN_NON_LOOPBACK")]
    pub mllp_allow_plain_non_loopback: bool,
    /// Largest MLLP frame accepted, in bytes; a larger one closes the connection.
    #[arg(long, env = "FHIRGATE_MLLP_MAX_FRAME_BYTES")]
    pub mllp_max_frame_bytes: Option<usize>,
    /// Seconds a connection may stay idle (nothing received) before it is closed.
    #[arg(long, env = "FHIRGATE_MLLP_IDLE_TIMEOUT_SECS")]
    pub mllp_idle_timeout_secs: Option<u64>,
    /// Most MLLP connections served at once; more are refused (closed) at accept,
    /// unless an idle one of an address holding more can be closed for them.
    #[arg(long, env = "FHIRGATE_MLLP_MAX_CONNECTIONS")]
    pub mllp_max_connections: Option<usize>,
    /// Most MLLP connections from one client address (default: a quarter of
    /// --mllp-max-connections); more are refused at accept.
    #[arg(long, env = "FHIRGATE_MLLP_MAX_CONNECTIONS_PER_ADDRESS")]
    pub mllp_max_connections_per_address: Option<usize>,
    /// Seconds a new connection has to deliver its first complete frame (TLS
    /// handshake included) before it is closed (default 10).
    #[arg(long, env = "FHIRGATE_MLLP_FIRST_FRAME_TIMEOUT_SECS")]
    pub mllp_first_frame_timeout_secs: Option<u64>,
    /// UTC offset given to HL7 times that carry none, e.g. +01:00 (default +00:00).
    #[arg(long, env = "FHIRGATE_HL7_DEFAULT_OFFSET")]
    pub hl7_default_offset: Option<String>,
    /// UTC offset of one sending facility (MSH-4.1), as FACILITY=+HH:MM; repeatable.
    #[arg(long = "hl7-facility-offset", value_name = "FACILITY=OFFSET")]
    pub hl7_facility_offsets: Vec<String>,
}

/// The `[hl7]` table of the TOML settings file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hl7File {
    mllp_addr: Option<SocketAddr>,
    mllp_disabled: Option<bool>,
    mllp_tls_addr: Option<SocketAddr>,
    mllp_tls_cert: Option<PathBuf>,
    mllp_tls_key: Option<PathBuf>,
    mllp_tls_client_ca: Option<PathBuf>,
    mllp_tls_client_cert_optional: Option<bool>,
    client_certs: Option<Vec<ClientCertFile>>,
    tenant_listeners: Option<Vec<TenantListenerFile>>,
    routes: Option<Vec<RouteFile>>,
    mllp_allow_plain_non_loopback: Option<bool>,
    mllp_max_frame_bytes: Option<usize>,
    mllp_idle_timeout_secs: Option<u64>,
    mllp_max_connections: Option<usize>,
    mllp_max_connections_per_address: Option<usize>,
    mllp_first_frame_timeout_secs: Option<u64>,
    default_offset: Option<String>,
    facility_offsets: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone)]
pub struct Hl7Settings {
    /// None: the plain listener is off.
    pub mllp_addr: Option<SocketAddr>,
    /// Address and (certificate, key) of the TLS listener.
    pub mllp_tls: Option<(SocketAddr, PathBuf, PathBuf)>,
    /// Client certificates on the TLS listener (None: not asked for).
    pub client_auth: Option<ClientAuth>,
    /// Which tenant each message is for (issue #18, `hl7/route.rs`).
    pub routing: Routing,
    /// The plain listener may bind a non-loopback address (`bind.rs`).
    pub allow_plain_non_loopback: bool,
    pub max_frame_bytes: usize,
    pub idle_timeout: Duration,
    /// Until the first complete frame (issue #15): a socket that says nothing
    /// holds a slot for this long, not for the idle timeout.
    pub first_frame_timeout: Duration,
    pub max_connections: usize,
    /// Connections of one client address (at most `max_connections`).
    pub max_connections_per_address: usize,
    /// Minutes east of UTC.
    pub default_offset: i32,
    pub facility_offsets: BTreeMap<String, i32>,
}

pub const DEFAULT_MLLP_PORT: u16 = 2575;
pub const DEFAULT_MAX_FRAME_BYTES: usize = 10 * 1024 * 1024;

impl Default for Hl7Settings {
    /// Plain MLLP on 127.0.0.1:2575, TLS off.
    fn default() -> Self {
        Self {
            mllp_addr: Some(SocketAddr::from(([127, 0, 0, 1], DEFAULT_MLLP_PORT))),
            mllp_tls: None,
            client_auth: None,
            routing: Routing::default(),
            allow_plain_non_loopback: false,
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            idle_timeout: Duration::from_secs(300),
            first_frame_timeout: Duration::from_secs(10),
            max_connections: 256,
            max_connections_per_address: per_address_default(256),
            default_offset: 0,
            facility_offsets: BTreeMap::new(),
        }
    }
}

/// A quarter of the cap: four addresses are needed to fill it, and an integration
/// engine that opens a connection per channel from one address still has room.
pub fn per_address_default(cap: usize) -> usize {
    (cap / 4).max(1)
}

/// `+HH:MM` or `-HH:MM`, as FHIR dateTime writes an offset, in minutes east of UTC.
fn check_offset(s: &str) -> anyhow::Result<i32> {
    let b = s.as_bytes();
    let ok = b.len() == 6
        && matches!(b.first(), Some(b'+' | b'-'))
        && b.get(3) == Some(&b':')
        && [1, 2, 4, 5]
            .iter()
            .all(|i| b.get(*i).is_some_and(u8::is_ascii_digit))
        && s.get(1..3)
            .and_then(|h| h.parse::<u8>().ok())
            .is_some_and(|h| h <= 14)
        && s.get(4..6)
            .and_then(|m| m.parse::<u8>().ok())
            .is_some_and(|m| m < 60);
    anyhow::ensure!(ok, "UTC offset {s:?} is not +HH:MM or -HH:MM");
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|v| v.parse::<i32>().ok()).unwrap_or(0);
    let minutes = num(1..3) * 60 + num(4..6);
    Ok(if s.starts_with('-') {
        -minutes
    } else {
        minutes
    })
}

impl Hl7Settings {
    pub fn resolve(
        args: &Hl7Args,
        file: Hl7File,
        https: Option<&(PathBuf, PathBuf)>,
    ) -> anyhow::Result<Self> {
        let d = Self::default();
        let disabled = args.mllp_disabled || file.mllp_disabled.unwrap_or(false);
        let tls_addr = args.mllp_tls_addr.or(file.mllp_tls_addr);
        let cert = args.mllp_tls_cert.clone().or(file.mllp_tls_cert);
        let key = args.mllp_tls_key.clone().or(file.mllp_tls_key);
        let mllp_tls = match (tls_addr, cert, key) {
            (None, _, _) => None,
            (Some(a), Some(c), Some(k)) => Some((a, c, k)),
            (Some(a), None, None) => match https {
                Some((c, k)) => Some((a, c.clone(), k.clone())),
                None => anyhow::bail!(
                    "--mllp-tls-addr needs --mllp-tls-cert/--mllp-tls-key or --tls-cert/--tls-key"
                ),
            },
            _ => anyhow::bail!("--mllp-tls-cert and --mllp-tls-key go together"),
        };
        let client_auth = clients::resolve(
            args.mllp_tls_client_ca.clone().or(file.mllp_tls_client_ca),
            args.mllp_tls_client_cert_optional || file.mllp_tls_client_cert_optional == Some(true),
            &file.client_certs.unwrap_or_default(),
            &args.mllp_tls_client_senders,
            mllp_tls.is_some(),
        )?;
        let routing = routes::resolve(
            &file.tenant_listeners.unwrap_or_default(),
            &file.routes.unwrap_or_default(),
            &args.mllp_tenant_addrs,
            &args.hl7_routes,
        )?;
        let mut facility_offsets = BTreeMap::new();
        for (f, o) in file.facility_offsets.unwrap_or_default() {
            facility_offsets.insert(f, check_offset(&o)?);
        }
        for pair in &args.hl7_facility_offsets {
            let (f, o) = pair.split_once('=').ok_or_else(|| {
                anyhow::anyhow!("--hl7-facility-offset takes FACILITY=+HH:MM, not {pair:?}")
            })?;
            facility_offsets.insert(f.to_owned(), check_offset(o)?);
        }
        let max_connections = args
            .mllp_max_connections
            .or(file.mllp_max_connections)
            .unwrap_or(d.max_connections)
            .max(1);
        Ok(Self {
            mllp_addr: (!disabled)
                .then(|| args.mllp_addr.or(file.mllp_addr).or(d.mllp_addr))
                .flatten(),
            mllp_tls,
            client_auth,
            routing,
            allow_plain_non_loopback: args.mllp_allow_plain_non_loopback
                || file.mllp_allow_plain_non_loopback == Some(true),
            max_frame_bytes: args
                .mllp_max_frame_bytes
                .or(file.mllp_max_frame_bytes)
                .unwrap_or(d.max_frame_bytes),
            idle_timeout: args
                .mllp_idle_timeout_secs
                .or(file.mllp_idle_timeout_secs)
                .map_or(d.idle_timeout, Duration::from_secs),
            first_frame_timeout: args
                .mllp_first_frame_timeout_secs
                .or(file.mllp_first_frame_timeout_secs)
                .map_or(d.first_frame_timeout, Duration::from_secs),
            max_connections,
            max_connections_per_address: args
                .mllp_max_connections_per_address
                .or(file.mllp_max_connections_per_address)
                .unwrap_or_else(|| per_address_default(max_connections))
                .clamp(1, max_connections),
            default_offset: match args.hl7_default_offset.clone().or(file.default_offset) {
                Some(o) => check_offset(&o)?,
                None => d.default_offset,
            },
            facility_offsets,
        })
    }
}

impl Hl7Settings {
    /// The start-up check of the plain listener's address (`super::bind`).
    pub fn check_exposure(&self) -> anyhow::Result<()> {
        let tenants = self.routing.listeners.iter().map(|l| l.addr);
        for addr in self.mllp_addr.into_iter().chain(tenants) {
            super::bind::check_plain_mllp(addr, self.allow_plain_non_loopback)?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_checked() {
        assert_eq!(check_offset("+02:00").unwrap(), 120);
        assert_eq!(check_offset("-09:30").unwrap(), -570);
        assert_eq!(check_offset("+00:00").unwrap(), 0);
        for bad in ["+2:00", "0200", "+15:00", "+02:60", "+02-00", "", "++02:00"] {
            assert!(check_offset(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_listen_on_2575_without_tls() {
        let s = Hl7Settings::resolve(&Hl7Args::default(), Hl7File::default(), None).unwrap();
        assert_eq!(s.mllp_addr, Some(SocketAddr::from(([127, 0, 0, 1], 2575))));
        assert!(s.mllp_tls.is_none());
        let off = Hl7Args {
            mllp_disabled: true,
            ..Hl7Args::default()
        };
        assert!(Hl7Settings::resolve(&off, Hl7File::default(), None)
            .unwrap()
            .mllp_addr
            .is_none());
    }

    #[test]
    fn client_certificates_are_read_from_the_file() {
        let file: Hl7File = toml::from_str(
            r#"
            mllp_tls_addr = "0.0.0.0:2576"
            mllp_tls_client_ca = "clients-ca.pem"
            [[client_certs]]
            cn = "lab-analyzer-1"
            senders = ["LAB^HOSP", "LAB^*"]
            "#,
        )
        .unwrap();
        let https = (PathBuf::from("c.pem"), PathBuf::from("k.pem"));
        let s = Hl7Settings::resolve(&Hl7Args::default(), file, Some(&https)).unwrap();
        let auth = s.client_auth.unwrap();
        assert!(auth.required);
        let first = auth.rules.first().unwrap();
        assert_eq!(first.cn.as_deref(), Some("lab-analyzer-1"));
        assert_eq!(first.senders.len(), 2);
        let bad = r#"
            [[client_certs]]
            cn = "x"
            senders = ["LAB"]
        "#;
        let file: Hl7File = toml::from_str(bad).unwrap();
        assert!(Hl7Settings::resolve(&Hl7Args::default(), file, Some(&https)).is_err());
    }
}
