//! MLLP client certificates (issue #17): which CA signs them, whether one is
//! required, and which senders (MSH-3/MSH-4) each certificate may send as.
//!
//! A certificate is named by its SHA-256 fingerprint (of the DER encoding, as
//! `openssl x509 -fingerprint -sha256` prints it) and/or its subject CN; an
//! entry naming both matches only a certificate having both. A sender is
//! `MSH-3^MSH-4`, the namespace ids (HD.1) of the sending application and
//! facility, `*` standing for any value of that component. An entry may also
//! name the tenant its senders' messages are for (issue #18, `hl7/route.rs`).

use std::path::PathBuf;

use serde::Deserialize;

use crate::tenant::TenantId;

/// One `[[hl7.client_certs]]` entry of the TOML file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientCertFile {
    pub cn: Option<String>,
    pub fingerprint: Option<String>,
    pub senders: Vec<String>,
    /// The clinic (slug) these senders' messages are for.
    pub tenant: Option<String>,
}

/// `MSH-3.1^MSH-4.1`; `None` is `*` (any value, also an empty one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderPattern {
    pub application: Option<String>,
    pub facility: Option<String>,
}

impl SenderPattern {
    pub fn parse(s: &str) -> anyhow::Result<Self> {
        let (app, fac) = s.split_once('^').ok_or_else(|| {
            anyhow::anyhow!("sender {s:?} is not MSH-3^MSH-4 (e.g. LAB^HOSP, LAB^* or *^HOSP)")
        })?;
        anyhow::ensure!(
            !fac.contains('^') && !app.is_empty() && !fac.is_empty(),
            "sender {s:?} is not MSH-3^MSH-4 (e.g. LAB^HOSP, LAB^* or *^HOSP)"
        );
        let part = |p: &str| (p != "*").then(|| p.to_owned());
        Ok(Self {
            application: part(app),
            facility: part(fac),
        })
    }

    pub fn application_matches(&self, application: &str) -> bool {
        self.application.as_deref().is_none_or(|a| a == application)
    }

    pub fn matches(&self, application: &str, facility: &str) -> bool {
        self.application_matches(application)
            && self.facility.as_deref().is_none_or(|f| f == facility)
    }
}

/// The identity of a verified client certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    /// SHA-256 of the certificate's DER encoding.
    pub fingerprint: [u8; 32],
    /// The subject's CN, when it has exactly one.
    pub cn: Option<String>,
}

impl std::fmt::Display for ClientIdentity {
    /// For logs: a certificate names a system, not a patient.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fp = hex::encode(self.fingerprint);
        match &self.cn {
            Some(cn) => write!(f, "CN={cn:?} sha256={fp}"),
            None => write!(f, "sha256={fp}"),
        }
    }
}

/// One mapping entry: a certificate and the senders it may send as.
#[derive(Debug, Clone)]
pub struct ClientCertRule {
    pub cn: Option<String>,
    pub fingerprint: Option<[u8; 32]>,
    pub senders: Vec<SenderPattern>,
    pub tenant: Option<TenantId>,
}

impl ClientCertRule {
    fn matches(&self, id: &ClientIdentity) -> bool {
        self.fingerprint.is_none_or(|f| f == id.fingerprint)
            && self
                .cn
                .as_deref()
                .is_none_or(|cn| id.cn.as_deref() == Some(cn))
    }
}

/// Client certificates on the MLLP TLS listener.
#[derive(Debug, Clone)]
pub struct ClientAuth {
    /// PEM bundle of the CAs a client certificate must chain to.
    pub ca: PathBuf,
    /// Refuse a handshake without a client certificate (the default).
    pub required: bool,
    /// Empty: any certificate the CA signs may send as any sender.
    pub rules: Vec<ClientCertRule>,
}

/// What one connection may send as: `None` from [`ClientAuth::senders_for`]
/// means no restriction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderGrant {
    /// The certificate, for logs (`None`: the client sent none).
    pub client: Option<String>,
    pub senders: Vec<SenderPattern>,
    /// The senders of entries that name a tenant, with it.
    pub tenants: Vec<(SenderPattern, TenantId)>,
}

impl SenderGrant {
    pub fn permits(&self, application: &str, facility: &str) -> bool {
        self.senders
            .iter()
            .any(|p| p.matches(application, facility))
    }

    /// Whether some pattern allows this application (else ERR-2 points at
    /// MSH-3 rather than MSH-4).
    pub fn knows_application(&self, application: &str) -> bool {
        self.senders
            .iter()
            .any(|p| p.application_matches(application))
    }

    /// The tenants the certificate names for a message from this sender: those
    /// of the entries permitting it; for a sender no entry permits (the message
    /// gets AR), those of every entry, so that the refusal is kept with the
    /// clinic the certificate belongs to.
    pub fn tenants_for(&self, application: &str, facility: &str) -> Vec<TenantId> {
        let permitting: Vec<&TenantId> = self
            .tenants
            .iter()
            .filter(|(p, _)| p.matches(application, facility))
            .map(|(_, t)| t)
            .collect();
        let mut out: Vec<TenantId> =
            if permitting.is_empty() && !self.permits(application, facility) {
                self.tenants.iter().map(|(_, t)| t.clone()).collect()
            } else {
                permitting.into_iter().cloned().collect()
            };
        out.sort();
        out.dedup();
        out
    }
}

impl ClientAuth {
    /// The senders a connection may send as, when a mapping is configured:
    /// the union of every matching entry's; no certificate, or one matching
    /// no entry, may send as nobody.
    pub fn senders_for(&self, client: Option<&ClientIdentity>) -> Option<SenderGrant> {
        if self.rules.is_empty() {
            return None;
        }
        let matching: Vec<&ClientCertRule> = client.map_or_else(Vec::new, |id| {
            self.rules.iter().filter(|r| r.matches(id)).collect()
        });
        Some(SenderGrant {
            client: client.map(ToString::to_string),
            senders: matching
                .iter()
                .flat_map(|r| r.senders.iter().cloned())
                .collect(),
            tenants: matching
                .iter()
                .filter_map(|r| Some((r, r.tenant.clone()?)))
                .flat_map(|(r, t)| r.senders.iter().map(move |p| (p.clone(), t.clone())))
                .collect(),
        })
    }
}

/// A fingerprint as hex, with or without `:` between bytes, any case.
fn parse_fingerprint(s: &str) -> anyhow::Result<[u8; 32]> {
    let hex: String = s.chars().filter(|c| *c != ':').collect();
    let bytes = hex::decode(&hex)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok());
    bytes.ok_or_else(|| anyhow::anyhow!("{s:?} is not a SHA-256 fingerprint (64 hex digits)"))
}

/// A TOML entry, checked.
pub fn rule_of(file: &ClientCertFile) -> anyhow::Result<ClientCertRule> {
    anyhow::ensure!(
        file.cn.is_some() || file.fingerprint.is_some(),
        "an [[hl7.client_certs]] entry needs cn or fingerprint"
    );
    anyhow::ensure!(
        file.cn.as_deref() != Some(""),
        "an [[hl7.client_certs]] cn may not be empty"
    );
    Ok(ClientCertRule {
        cn: file.cn.clone(),
        fingerprint: file
            .fingerprint
            .as_deref()
            .map(parse_fingerprint)
            .transpose()?,
        senders: file
            .senders
            .iter()
            .map(|s| SenderPattern::parse(s))
            .collect::<anyhow::Result<_>>()?,
        tenant: file
            .tenant
            .as_deref()
            .map(|t| TenantId::parse_slug(t).map_err(anyhow::Error::msg))
            .transpose()?,
    })
}

/// The flag form, `cn:NAME=SENDER[,SENDER...]` or `sha256:HEX=SENDER[,...]`,
/// optionally followed by `@SLUG`, the tenant of those senders' messages (a
/// slug has no `@`, so the last one in SENDERS starts it).
pub fn rule_of_flag(flag: &str) -> anyhow::Result<ClientCertRule> {
    let bad = || {
        anyhow::anyhow!(
            "--mllp-tls-client-sender takes cn:NAME=SENDERS[@SLUG] or sha256:HEX=SENDERS[@SLUG] \
             (SENDERS: MSH-3^MSH-4, comma-separated), not {flag:?}"
        )
    };
    let (who, senders) = flag.rsplit_once('=').ok_or_else(bad)?;
    let (senders, tenant) = match senders.rsplit_once('@') {
        Some((s, t)) => (s, Some(t.to_owned())),
        None => (senders, None),
    };
    let (kind, value) = who.split_once(':').ok_or_else(bad)?;
    if kind != "cn" && kind != "sha256" {
        return Err(bad());
    }
    rule_of(&ClientCertFile {
        cn: (kind == "cn").then(|| value.to_owned()),
        fingerprint: (kind == "sha256").then(|| value.to_owned()),
        senders: senders.split(',').map(str::to_owned).collect(),
        tenant,
    })
}

/// The client-certificate settings from flags and file: `None` without a CA;
/// a mapping or `optional` without a CA, or a CA without the TLS listener, is
/// a mistake an operator should hear of rather than a setting left unused.
pub fn resolve(
    ca: Option<PathBuf>,
    optional: bool,
    file_rules: &[ClientCertFile],
    flag_rules: &[String],
    tls_listener: bool,
) -> anyhow::Result<Option<ClientAuth>> {
    let mut rules = file_rules
        .iter()
        .map(rule_of)
        .collect::<Result<Vec<_>, _>>()?;
    for f in flag_rules {
        rules.push(rule_of_flag(f)?);
    }
    let Some(ca) = ca else {
        anyhow::ensure!(
            rules.is_empty() && !optional,
            "client certificate senders and --mllp-tls-client-cert-optional need \
             --mllp-tls-client-ca (the CA bundle that signs the client certificates)"
        );
        return Ok(None);
    };
    anyhow::ensure!(
        tls_listener,
        "--mllp-tls-client-ca needs the MLLP TLS listener (--mllp-tls-addr)"
    );
    Ok(Some(ClientAuth {
        ca,
        required: !optional,
        rules,
    }))
}

#[cfg(test)]
#[path = "clients_tests.rs"]
mod tests;
