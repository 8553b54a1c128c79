//! The FHIR base URL of Bundle links, `Location` and `fullUrl`: built here
//! only (issue #15, "HTTP details").
//!
//! Taken from the request's `Host` as it was, a client could make the server
//! write any host into its answers (`Host: evil.example` came back in every
//! link: a lure for whoever follows them, or for a cache keyed without Host).
//! So: a configured base URL is always used; without one the Host must name
//! the address the request came in on (its IP, or `localhost` and the other
//! loopback forms on a loopback address) with its port, or one of
//! `--allowed-hosts`; any other Host is refused with 400. `X-Forwarded-*` and
//! `Forwarded` are not read (anyone can send them): behind a proxy, configure
//! the base URL.

use std::net::{IpAddr, SocketAddr};

use actix_web::http::header;
use actix_web::HttpRequest;
use fhirgate_validate::IssueCode;

use super::error::FhirError;
use crate::config::Settings;

/// The path of the default tenant's FHIR base on this server: the routes are
/// mounted there (handlers/mod.rs), and every other tenant's under
/// [`TENANT_PREFIX`]`{slug}/fhir` ([`tenant_path`]).
pub const BASE_PATH: &str = "/fhir";
/// Where the other tenants' bases are: `/t/{slug}/fhir` (issue #18).
pub const TENANT_PREFIX: &str = "/t/";

/// The path of `tenant`'s FHIR base.
pub fn tenant_path(tenant: &crate::tenant::TenantId) -> String {
    if tenant.is_default() {
        BASE_PATH.to_owned()
    } else {
        format!("{TENANT_PREFIX}{}{BASE_PATH}", tenant.as_str())
    }
}

/// How the base URL is chosen (see the module docs).
#[derive(Debug, Clone)]
pub struct BaseUrl {
    /// `--base-url`, without a trailing slash.
    configured: Option<String>,
    /// `--allowed-hosts`, parsed: (host, port if given).
    allowed: Vec<(String, Option<u16>)>,
    /// The base's path on this server ([`tenant_path`]).
    path: String,
}

impl BaseUrl {
    pub fn new(settings: &Settings) -> Self {
        Self {
            configured: settings
                .base_url
                .as_ref()
                .map(|b| b.trim_end_matches('/').to_owned()),
            allowed: settings
                .allowed_hosts
                .iter()
                .filter_map(|h| split_host(h))
                .collect(),
            path: BASE_PATH.to_owned(),
        }
    }

    /// The same for `tenant`'s base. A configured base URL is the default
    /// tenant's; the others' are beside it: its `/fhir` ending replaced by
    /// `/t/{slug}/fhir` (or that appended, for a base that does not end so).
    pub fn for_tenant(&self, tenant: &crate::tenant::TenantId) -> Self {
        let path = tenant_path(tenant);
        let configured = self.configured.as_ref().map(|b| {
            if tenant.is_default() {
                b.clone()
            } else {
                let root = b.strip_suffix(BASE_PATH).unwrap_or(b);
                format!("{root}{path}")
            }
        });
        Self {
            configured,
            allowed: self.allowed.clone(),
            path,
        }
    }

    /// The base's path on this server (`/fhir`, `/t/{slug}/fhir`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The base for work that no HTTP request started (HL7 messages, import,
    /// replay): the configured one, else the HTTP listening address.
    pub fn for_server(&self, addr: SocketAddr, tls: bool) -> String {
        match &self.configured {
            Some(b) => b.clone(),
            None => format!(
                "{}://{addr}{}",
                if tls { "https" } else { "http" },
                self.path
            ),
        }
    }

    /// The base for one request, or 400 for a Host this server does not answer to.
    pub fn for_request(&self, req: &HttpRequest) -> Result<String, FhirError> {
        if let Some(b) = &self.configured {
            return Ok(b.clone());
        }
        let config = req.app_config();
        // The connection's own local address; the listener's (all actix knows)
        // is 0.0.0.0 when it is bound to every interface.
        let local = req
            .conn_data::<crate::limits::gate::ConnLocalAddr>()
            .map_or_else(|| config.local_addr(), |a| a.0);
        let scheme = if config.secure() { "https" } else { "http" };
        // HTTP/1.1 carries Host; HTTP/2 the :authority, which actix puts in the URI.
        let host = match req.headers().get(header::HOST) {
            Some(v) => v.to_str().ok().map(str::to_owned),
            None => req.uri().authority().map(|a| a.as_str().to_owned()),
        };
        // HTTP/1.0 without Host: the address the request came in on.
        let Some(host) = host else {
            return Ok(format!("{scheme}://{local}{}", self.path));
        };
        let default_port = if config.secure() { 443 } else { 80 };
        match split_host(&host) {
            Some((name, port)) if self.accepts(&name, port.unwrap_or(default_port), local) => {
                Ok(match port {
                    Some(p) => format!("{scheme}://{name}:{p}{}", self.path),
                    None => format!("{scheme}://{name}{}", self.path),
                })
            }
            // The value is not echoed: it is the client's, and may be anything.
            _ => Err(FhirError::invalid(
                IssueCode::Value,
                None,
                "the Host header names neither the address this server listens on nor an allowed host \
                 (configure --base-url, or --allowed-hosts)",
            )),
        }
    }

    fn accepts(&self, name: &str, port: u16, local: SocketAddr) -> bool {
        let listed = self
            .allowed
            .iter()
            .any(|(h, p)| h == name && p.is_none_or(|p| p == port));
        listed || (port == local.port() && names_local(name, local.ip()))
    }
}

/// Whether `name` (a lowercased Host name or IP literal) is `local`: its IP,
/// or, for a loopback address, `localhost` or any loopback IP.
fn names_local(name: &str, local: IpAddr) -> bool {
    let local = local.to_canonical();
    let ip = name
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok()
        .map(|ip| ip.to_canonical());
    match ip {
        Some(ip) => ip == local || (ip.is_loopback() && local.is_loopback()),
        None => local.is_loopback() && (name == "localhost" || name.ends_with(".localhost")),
    }
}

/// A Host value (RFC 9110 7.2: `uri-host [ ":" port ]`) as (lowercased host,
/// port); None when it is not one: a name of letters, digits, `-` and `.`, an
/// IPv4 address or a bracketed IPv6 address.
fn split_host(value: &str) -> Option<(String, Option<u16>)> {
    let value = value.trim();
    let (host, port) = match value.strip_prefix('[') {
        Some(rest) => {
            let (inside, after) = rest.split_once(']')?;
            inside.parse::<std::net::Ipv6Addr>().ok()?;
            let host = format!("[{}]", inside.to_ascii_lowercase());
            match after {
                "" => (host, None),
                p => (host, Some(p.strip_prefix(':')?)),
            }
        }
        None => match value.rsplit_once(':') {
            Some((h, p)) => (h.to_ascii_lowercase(), Some(p)),
            None => (value.to_ascii_lowercase(), None),
        },
    };
    let name_ok = host.starts_with('[')
        || (!host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'));
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok()?),
        None => None,
    };
    name_ok.then_some((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_values_are_split_per_rfc_9110() {
        let s = |v: &str| split_host(v);
        assert_eq!(s("Example.org"), Some(("example.org".into(), None)));
        assert_eq!(s("127.0.0.1:8080"), Some(("127.0.0.1".into(), Some(8080))));
        assert_eq!(s("[::1]:80"), Some(("[::1]".into(), Some(80))));
        assert_eq!(s("[::1]"), Some(("[::1]".into(), None)));
        for bad in [
            "", "a b", "evil/x", "h:99999", "h:", "[zz]", "[::1]x", "a@b",
        ] {
            assert_eq!(s(bad), None, "{bad}");
        }
    }

    #[test]
    fn local_names_follow_the_address() {
        let lo: IpAddr = "127.0.0.1".parse().unwrap_or(IpAddr::from([127, 0, 0, 1]));
        let lan = IpAddr::from([10, 1, 2, 3]);
        assert!(names_local("localhost", lo));
        assert!(names_local("127.0.0.1", lo));
        assert!(names_local("[::1]", lo));
        assert!(!names_local("evil.example", lo));
        assert!(names_local("10.1.2.3", lan));
        assert!(!names_local("localhost", lan));
        assert!(!names_local("10.1.2.4", lan));
        // A v4 client on a dual-stack listener: the local address is v4-mapped.
        assert!(names_local(
            "10.1.2.3",
            "::ffff:10.1.2.3".parse().unwrap_or(lan)
        ));
    }
}
