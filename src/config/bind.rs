//! Secure defaults for the listening addresses (issue #17): what carries PHI
//! in the clear stays on loopback unless the operator says otherwise.
//!
//! - HTTP without TLS (`--tls-cert`/`--tls-key`) binds only a loopback address,
//!   unless `--tls-terminated-upstream` says a TLS proxy in front of it (on a
//!   network it trusts) terminates TLS.
//! - Plain MLLP binds only a loopback address unless
//!   `--mllp-allow-plain-non-loopback`; MLLP over TLS binds anywhere.
//!
//! Checked when `serve` binds, not when settings are read: `import` and
//! `hl7 replay` read the same file and bind nothing.

use std::net::SocketAddr;

/// 127.0.0.0/8 and ::1 (also as an IPv4-mapped address). `0.0.0.0` and `::`
/// are every interface, so not loopback.
pub fn is_loopback(addr: SocketAddr) -> bool {
    addr.ip().to_canonical().is_loopback()
}

/// The HTTP API's address.
pub fn check_http(addr: SocketAddr, tls: bool, terminated_upstream: bool) -> anyhow::Result<()> {
    anyhow::ensure!(
        tls || terminated_upstream || is_loopback(addr),
        "refusing to serve plain HTTP on the non-loopback address {addr}: FHIR data and \
         credentials would cross the network unencrypted. Give --tls-cert and --tls-key, \
         or, when a TLS-terminating proxy in front of the gateway is the only way in, \
         --tls-terminated-upstream (FHIRGATE_TLS_TERMINATED_UPSTREAM=true); or bind a \
         loopback address (127.0.0.1)"
    );
    Ok(())
}

/// The plain MLLP listener's address.
pub fn check_plain_mllp(addr: SocketAddr, allowed: bool) -> anyhow::Result<()> {
    anyhow::ensure!(
        allowed || is_loopback(addr),
        "refusing plain MLLP on the non-loopback address {addr}: HL7 v2 messages would \
         cross the network unencrypted from unauthenticated senders. Use MLLP over TLS \
         (--mllp-tls-addr, with --mllp-tls-client-ca for client certificates) and \
         --mllp-disabled, or bind the plain listener to loopback (--mllp-addr \
         127.0.0.1:2575), or allow it explicitly with --mllp-allow-plain-non-loopback"
    );
    Ok(())
}

impl super::Settings {
    /// Both rules, for `serve` before it binds anything.
    pub fn check_exposure(&self) -> anyhow::Result<()> {
        check_http(
            self.http_addr,
            self.tls.is_some(),
            self.tls_terminated_upstream,
        )?;
        self.hl7.check_exposure()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    const PUBLIC: [&str; 4] = [
        "0.0.0.0:8080",
        "192.0.2.10:8080",
        "[::]:8080",
        "[2001:db8::1]:8080",
    ];
    const LOOPBACK: [&str; 4] = [
        "127.0.0.1:8080",
        "127.1.2.3:0",
        "[::1]:8080",
        "[::ffff:127.0.0.1]:8080",
    ];

    #[test]
    fn http_off_loopback_needs_tls_or_the_upstream_flag() {
        for l in LOOPBACK {
            check_http(a(l), false, false).unwrap();
        }
        for p in PUBLIC {
            let e = check_http(a(p), false, false).unwrap_err().to_string();
            assert!(e.contains("--tls-terminated-upstream"), "{e}");
            check_http(a(p), true, false).unwrap();
            check_http(a(p), false, true).unwrap();
        }
    }

    /// The rules as `serve` applies them, from flags (the TOML file's keys
    /// are the same names).
    fn settings(flags: &[&str]) -> anyhow::Result<crate::config::Settings> {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            common: crate::config::CommonArgs,
            #[command(flatten)]
            serve: crate::config::ServeArgs,
        }
        let cli = <Cli as clap::Parser>::try_parse_from(
            std::iter::once("serve").chain(flags.iter().copied()),
        )?;
        crate::config::Settings::resolve(&cli.common, &cli.serve)
    }

    #[test]
    fn serve_settings_are_checked_before_binding() {
        let ok = |f: &[&str]| settings(f).unwrap().check_exposure().unwrap();
        let refused = |f: &[&str]| {
            let e = settings(f).unwrap().check_exposure().unwrap_err();
            e.to_string()
        };
        ok(&[]);
        assert!(refused(&["--http-addr", "0.0.0.0:8080"]).contains("plain HTTP"));
        ok(&["--http-addr", "0.0.0.0:8080", "--tls-terminated-upstream"]);
        ok(&[
            "--http-addr",
            "0.0.0.0:8080",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
        ]);
        assert!(refused(&["--mllp-addr", "0.0.0.0:2575"]).contains("plain MLLP"));
        ok(&[
            "--mllp-addr",
            "0.0.0.0:2575",
            "--mllp-allow-plain-non-loopback",
        ]);
        ok(&["--mllp-addr", "0.0.0.0:2575", "--mllp-disabled"]);
        // The TLS listener binds anywhere.
        ok(&[
            "--mllp-tls-addr",
            "0.0.0.0:2576",
            "--mllp-tls-cert",
            "c.pem",
            "--mllp-tls-key",
            "k.pem",
        ]);
    }

    #[test]
    fn plain_mllp_off_loopback_needs_the_flag() {
        for l in LOOPBACK {
            check_plain_mllp(a(l), false).unwrap();
        }
        for p in PUBLIC {
            let e = check_plain_mllp(a(p), false).unwrap_err().to_string();
            assert!(e.contains("--mllp-allow-plain-non-loopback"), "{e}");
            check_plain_mllp(a(p), true).unwrap();
        }
    }
}
