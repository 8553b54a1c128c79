//! Rate limit flags of `fhirgate serve` (issue #18): the server's default
//! limits of every tenant and of every client within a tenant, in cost units
//! per second (a read costs 1: src/fhir/engine/cost.rs). A tenant's own
//! limits, where set, replace them (`Limiter::configure`).

use anyhow::bail;
use serde::Deserialize;

use crate::limits::rate::{Rates, DEFAULT_HL7_QUEUE};

#[derive(Debug, Clone, Default, clap::Args)]
pub struct RateArgs {
    /// Cost units per second one tenant may spend, its clients together (a read
    /// costs 1, a write 2, a search 5, a Bundle the sum of its entries). Over it,
    /// HTTP requests get 429 with Retry-After and HL7 ACKs slow down.
    /// Default: unlimited.
    #[arg(long, env = "FHIRGATE_TENANT_RATE")]
    pub tenant_rate: Option<f64>,
    /// Cost units one tenant may spend at once (default: 2 s of --tenant-rate).
    #[arg(long, env = "FHIRGATE_TENANT_BURST")]
    pub tenant_burst: Option<f64>,
    /// Cost units per second one client (token client_id, HL7 sending application
    /// and facility) may spend within its tenant. Default: unlimited.
    #[arg(long, env = "FHIRGATE_CLIENT_RATE")]
    pub client_rate: Option<f64>,
    /// Cost units one client may spend at once (default: 2 s of --client-rate).
    #[arg(long, env = "FHIRGATE_CLIENT_BURST")]
    pub client_burst: Option<f64>,
    /// HL7 messages of one tenant that may wait for the rate limit at once;
    /// one more is answered AE (207) at once, to be resent (default 100).
    #[arg(long, env = "FHIRGATE_HL7_TENANT_QUEUE")]
    pub hl7_tenant_queue: Option<usize>,
}

/// The `[rate]` table of the TOML settings file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateFile {
    pub tenant_rate: Option<f64>,
    pub tenant_burst: Option<f64>,
    pub client_rate: Option<f64>,
    pub client_burst: Option<f64>,
    pub hl7_tenant_queue: Option<usize>,
}

/// Flags over the file over the defaults (unlimited). A rate or burst must be
/// a positive number.
pub fn resolve(args: &RateArgs, file: RateFile) -> anyhow::Result<Rates> {
    let rates = Rates {
        tenant_per_sec: args.tenant_rate.or(file.tenant_rate),
        tenant_burst: args.tenant_burst.or(file.tenant_burst),
        client_per_sec: args.client_rate.or(file.client_rate),
        client_burst: args.client_burst.or(file.client_burst),
        hl7_queue: args
            .hl7_tenant_queue
            .or(file.hl7_tenant_queue)
            .unwrap_or(DEFAULT_HL7_QUEUE),
    };
    for (name, value) in [
        ("--tenant-rate", rates.tenant_per_sec),
        ("--tenant-burst", rates.tenant_burst),
        ("--client-rate", rates.client_per_sec),
        ("--client-burst", rates.client_burst),
    ] {
        if let Some(v) = value {
            if !(v.is_finite() && v > 0.0) {
                bail!("{name} must be a positive number, not {v}");
            }
        }
    }
    Ok(rates)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_and_rates_must_be_positive() {
        let args = RateArgs {
            tenant_rate: Some(5.0),
            ..Default::default()
        };
        let file = RateFile {
            tenant_rate: Some(1.0),
            client_rate: Some(2.0),
            hl7_tenant_queue: Some(3),
            ..Default::default()
        };
        let r = resolve(&args, file).unwrap();
        assert_eq!(r.tenant_per_sec, Some(5.0));
        assert_eq!(r.client_per_sec, Some(2.0));
        assert_eq!(r.tenant_burst, None);
        assert_eq!(r.hl7_queue, 3);
        assert_eq!(
            resolve(&RateArgs::default(), RateFile::default()).unwrap(),
            Rates::default()
        );
        let zero = RateArgs {
            client_burst: Some(0.0),
            ..Default::default()
        };
        assert!(resolve(&zero, RateFile::default()).is_err());
    }

    #[derive(clap::Parser)]
    struct Serve {
        #[command(flatten)]
        serve: crate::config::ServeArgs,
    }

    #[test]
    fn the_flags_are_serve_flags() {
        use clap::{CommandFactory, Parser};
        Serve::command().debug_assert();
        let s = Serve::try_parse_from([
            "serve",
            "--tenant-rate",
            "5",
            "--tenant-burst",
            "5",
            "--client-rate",
            "0.5",
            "--hl7-tenant-queue",
            "1",
        ])
        .unwrap();
        let r = resolve(&s.serve.rate, RateFile::default()).unwrap();
        assert_eq!(r.tenant_per_sec, Some(5.0));
        assert_eq!(r.tenant_burst, Some(5.0));
        assert_eq!(r.client_per_sec, Some(0.5));
        assert_eq!(r.client_burst, None);
        assert_eq!(r.hl7_queue, 1);
    }
}
