//! `fhirgate tenants`: the clinics one gateway serves (issue #18). Run as the
//! database owner's login (the serving role only reads the tenants table).
//! A running `serve` sees a change within `fhir::tenancy::REFRESH`.
//!
//! Each change is recorded in the server-level audit trail: AuditEvents of
//! the `_server` scope, which no clinic's base serves.

use std::sync::Arc;

use clap::{Args, Subcommand};

use crate::audit::{AuditRecord, Interaction};
use crate::config::Settings;
use crate::crypto::{Keyring, MasterKey};
use crate::store::tenants::{self, RateChanges};
use crate::store::Db;
use crate::tenant::TenantId;

#[derive(Debug, Subcommand)]
pub enum TenantsCommand {
    /// Add a clinic: its FHIR base is `[server]/t/{slug}/fhir`. Its data
    /// keys and token signing key are made now.
    Add {
        /// 1-63 characters of a-z, 0-9 and '-'.
        slug: String,
        /// A display name (default: the slug).
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        rates: RateArgs,
    },
    /// List the clinics, their bases and their limits.
    List,
    /// Stop serving a clinic (its base answers 404; its data stays).
    Disable { slug: String },
    /// Serve a disabled clinic again.
    Enable { slug: String },
    /// Set a clinic's rate limits (the server's `--tenant-rate` and the
    /// others apply where none is set).
    SetLimits {
        slug: String,
        #[command(flatten)]
        rates: RateArgs,
    },
}

/// Per-tenant overrides of the server's rate limits.
#[derive(Debug, Clone, Default, Args)]
pub struct RateArgs {
    /// Cost units per second for the whole clinic (a read costs 1).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Cost units the clinic may spend at once.
    #[arg(long)]
    pub burst: Option<f64>,
    /// Cost units per second for each OAuth client of the clinic.
    #[arg(long)]
    pub client_rate: Option<f64>,
    /// Cost units each client may spend at once.
    #[arg(long)]
    pub client_burst: Option<f64>,
    /// HL7 messages that may wait for the clinic's rate before new ones get AE.
    #[arg(long)]
    pub hl7_queue: Option<i32>,
}

impl RateArgs {
    fn changes(&self) -> RateChanges {
        RateChanges {
            rate_per_sec: self.rate,
            burst: self.burst,
            client_rate_per_sec: self.client_rate,
            client_burst: self.client_burst,
            hl7_queue: self.hl7_queue,
        }
    }
}

pub async fn run(settings: Settings, command: TenantsCommand) -> anyhow::Result<()> {
    let master =
        MasterKey::load_or_generate(settings.master_key_file.as_deref(), &settings.data_dir)?;
    let db = crate::store::bootstrap::open(&settings).await?;
    let keyring = Arc::new(Keyring::new(master.clone()));
    db.migrate(keyring.clone()).await?;
    let result = act(&settings, &db, &keyring, master, command).await;
    db.shutdown().await;
    result
}

async fn act(
    settings: &Settings,
    db: &Db,
    keyring: &Arc<Keyring>,
    master: MasterKey,
    command: TenantsCommand,
) -> anyhow::Result<()> {
    let base = crate::fhir::base::BaseUrl::new(settings);
    let base_of = |t: &TenantId| {
        base.for_tenant(t)
            .for_server(settings.http_addr, settings.tls.is_some())
    };
    match command {
        TenantsCommand::Add { slug, name, rates } => {
            let tenant = TenantId::parse_slug(&slug).map_err(anyhow::Error::msg)?;
            let name = name.unwrap_or_else(|| slug.clone());
            let (id, n) = (slug.clone(), name.clone());
            let added = db.run(move |c| tenants::add(c, &id, &n)).await?;
            anyhow::ensure!(added, "there is a tenant {slug} already");
            let changes = rates.changes();
            let id = slug.clone();
            db.run(move |c| tenants::set_rates(c, &id, &changes))
                .await?;
            // Its keys now, so that its first request does not make them.
            let bound = db.for_tenant(&tenant);
            {
                let (k, t) = (keyring.clone(), tenant.clone());
                bound.run(move |c| k.ensure_tenant(c, t.as_str())).await?;
            }
            crate::auth::Authority::load(
                bound,
                master,
                tenant.clone(),
                base_of(&tenant),
                settings.auth.clone(),
            )
            .await?;
            record(db, keyring, &format!("tenants add {slug}")).await?;
            println!("added {slug} ({name}): FHIR base {}", base_of(&tenant));
        }
        TenantsCommand::List => {
            let rows = db.run(tenants::list).await?;
            println!(
                "{:<24} {:<9} {:<40} {:>8} {:>8} NAME",
                "SLUG", "STATUS", "BASE", "RATE", "BURST"
            );
            for r in rows.iter().filter(|r| r.id != TenantId::SERVER) {
                let t = TenantId::parse(&r.id).map_err(anyhow::Error::msg)?;
                let show = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
                println!(
                    "{:<24} {:<9} {:<40} {:>8} {:>8} {}",
                    r.id,
                    if r.disabled { "disabled" } else { "enabled" },
                    base_of(&t),
                    show(r.rate_per_sec),
                    show(r.burst),
                    r.name
                );
            }
        }
        TenantsCommand::Disable { slug } | TenantsCommand::Enable { slug }
            if slug == TenantId::DEFAULT || slug == TenantId::SERVER =>
        {
            anyhow::bail!("the {slug} tenant cannot be disabled or enabled");
        }
        TenantsCommand::Disable { slug } => set_disabled(db, keyring, &slug, true).await?,
        TenantsCommand::Enable { slug } => set_disabled(db, keyring, &slug, false).await?,
        TenantsCommand::SetLimits { slug, rates } => {
            let (id, changes) = (slug.clone(), rates.changes());
            let found = db
                .run(move |c| tenants::set_rates(c, &id, &changes))
                .await?;
            anyhow::ensure!(found, "there is no tenant {slug}");
            record(db, keyring, &format!("tenants set-limits {slug} {rates:?}")).await?;
            println!("limits of {slug} set");
        }
    }
    Ok(())
}

async fn set_disabled(
    db: &Db,
    keyring: &Arc<Keyring>,
    slug: &str,
    disabled: bool,
) -> anyhow::Result<()> {
    let id = slug.to_owned();
    let found = db
        .run(move |c| tenants::set_disabled(c, &id, disabled))
        .await?;
    anyhow::ensure!(found, "there is no tenant {slug}");
    let verb = if disabled { "disable" } else { "enable" };
    record(db, keyring, &format!("tenants {verb} {slug}")).await?;
    println!("{slug} {verb}d");
    Ok(())
}

/// One AuditEvent in the server-level trail: the change, and the operating
/// system user who made it.
async fn record(db: &Db, keyring: &Arc<Keyring>, what: &str) -> anyhow::Result<()> {
    let server = TenantId::server();
    let mut r = AuditRecord::new(Interaction::Operation);
    r.query = Some(what.to_owned());
    r.user = std::env::var("USER").ok().map(|u| format!("user:{u}"));
    r.client_id = Some("fhirgate-cli".to_owned());
    r.status = 200;
    let (k, t) = (keyring.clone(), server.clone());
    db.for_tenant(&server)
        .run(move |c| {
            k.ensure_tenant(c, t.as_str())?;
            crate::audit::store_batch(c, &k, &t, std::slice::from_ref(&r))
        })
        .await?;
    Ok(())
}
