//! Opening the store and building the shared state of a gateway: everything a
//! command that writes needs before it serves anything. `fhirgate serve`
//! (startup.rs) and `fhirgate import` straight into the database both start
//! here, so both write the same way. Nothing here is HTTP: the layer sits
//! below the protocol adapters (docs/architecture.md, "Layers inside the
//! server"); startup wraps the state for actix.

use std::sync::Arc;

use anyhow::Context;

use crate::audit::{AuditSink, AuditWriter};
use crate::config::Settings;
use crate::crypto::{Keyring, MasterKey};
use crate::fhir::engine::{EngineLimits, Principal};
use crate::fhir::tenancy::{Parts, Tenancy};
use crate::fhir::FhirModel;
use crate::metrics::Metrics;
use crate::store::Db;
use crate::tenant::TenantId;

/// The bootstrap of every command that writes: master key (generated on first
/// start), database (configured, local or private cluster), migrations, and the
/// compiled FHIR model.
pub async fn open_store(settings: &Settings) -> anyhow::Result<(Db, Arc<FhirModel>, MasterKey)> {
    let master =
        MasterKey::load_or_generate(settings.master_key_file.as_deref(), &settings.data_dir)?;
    let db = crate::store::bootstrap::open(settings).await?;
    db.migrate(Arc::new(Keyring::new(master.clone())))
        .await
        .context("applying migrations")?;
    let model = Arc::new(tokio::task::spawn_blocking(FhirModel::load).await??);
    Ok((db, model, master))
}

/// The issuer URL of `tenant`'s authorization server: its canonical FHIR
/// base (`--base-url`'s, else the HTTP listening address's), also the `aud`
/// its tokens carry.
pub fn issuer(settings: &Settings, http_addr: std::net::SocketAddr, tenant: &TenantId) -> String {
    crate::fhir::base::BaseUrl::new(settings)
        .for_tenant(tenant)
        .for_server(http_addr, settings.tls.is_some())
}

/// The serving pool: the serving role ensured by the owner's login (created
/// when missing, granted the tables), then a pool logged in as it
/// (store/role.rs). Refused when that login bypasses row-level security.
pub async fn serving_db(owner: &Db, settings: &Settings) -> anyhow::Result<Db> {
    ensure_serving_role(owner, settings).await?;
    let url = match &settings.db_serving.url {
        Some(u) => u.clone(),
        None => crate::store::role::url_as(owner.url(), &settings.db_serving.role),
    };
    let db = owner
        .connect_as(&url, settings.db_pool_size)
        .context("logging in as the serving role")?
        .with_read_limit(settings.db_read_concurrency);
    let privileged = db.run(crate::store::role::bypasses_rls).await?;
    anyhow::ensure!(
        !privileged,
        "the serving login is a superuser or has BYPASSRLS: row-level security would not \
         isolate the tenants (--db-serving-role / --db-serving-url)"
    );
    Ok(db)
}

/// Creates the serving role if missing and grants it this database's tables
/// (`fhirgate migrate`, and every start).
pub async fn ensure_serving_role(owner: &Db, settings: &Settings) -> anyhow::Result<()> {
    let role = settings.db_serving.role.clone();
    let password = settings
        .db_serving
        .url
        .as_deref()
        .and_then(crate::store::role::url_password);
    owner
        .run(move |conn| crate::store::role::ensure(conn, &role, password.as_deref()))
        .await
        .context("creating the serving role (run `fhirgate migrate` as the database owner)")?;
    Ok(())
}

/// Who serves, and how: what `app_state` needs beside the stores.
pub struct Serving {
    /// The HTTP listening address and whether it is TLS (the issuers' bases
    /// when no base URL is configured).
    pub http_addr: std::net::SocketAddr,
    /// Every request acts as this principal (the decision point's tests,
    /// `--insecure-no-auth`).
    pub fixed_principal: Option<Principal>,
    pub stop: Arc<std::sync::atomic::AtomicBool>,
}

/// The shared state of a gateway: the tenants' registry with the default
/// tenant's site built (data keys checked or created, signing keys loaded or
/// generated), and the audit writer started. `db` is the serving pool.
pub async fn app_state(
    settings: &Settings,
    db: Db,
    model: Arc<FhirModel>,
    master: MasterKey,
    serving: Serving,
) -> anyhow::Result<(Arc<Tenancy>, AuditWriter)> {
    let keyring = Arc::new(Keyring::new(master.clone()));
    let (audit, audit_writer) =
        AuditSink::start(db.clone(), keyring.clone(), TenantId::default_tenant());
    let parse_budget = Arc::new(crate::limits::budget::ParseBudget::new(
        settings.limits.parse_budget_bytes,
        settings.limits.parse_budget_wait,
    ));
    let metrics = Arc::new(Metrics::default());
    metrics.set_budget(parse_budget.clone());
    let fixed_principal = serving.fixed_principal.clone().or_else(|| {
        settings
            .auth
            .insecure_no_auth
            .then(Principal::anonymous_local)
    });
    let parts = Parts {
        db,
        keyring,
        model,
        audit,
        master,
        auth: settings.auth.clone(),
        base: crate::fhir::base::BaseUrl::new(settings),
        server_addr: serving.http_addr,
        tls: settings.tls.is_some(),
        limits: EngineLimits {
            max_bundle_entries: settings.max_bundle_entries,
            max_json_nodes: settings.limits.max_json_nodes,
            rates: settings.rates,
        },
        principal: serving
            .fixed_principal
            .clone()
            .unwrap_or_else(Principal::anonymous_local),
        fixed_principal,
        max_body: settings.max_body_bytes,
        body_timeout: settings.limits.body_timeout,
        max_json_nodes: settings.limits.max_json_nodes,
        parse_budget,
        metrics,
        stop: serving.stop,
        limiter: Arc::new(crate::limits::rate::Limiter::new(settings.rates)),
    };
    let tenancy = Tenancy::start(parts).await.map_err(|e| {
        anyhow::anyhow!("{e} (is the master key the one this database was created with?)")
    })?;
    Ok((tenancy, audit_writer))
}

/// The database of the tenant a command acts for (`--tenant`): bound to it,
/// after checking that it is one of this database's tenants.
pub async fn command_db(db: &Db, settings: &Settings) -> anyhow::Result<Db> {
    let id = settings.tenant.as_str().to_owned();
    let row = db
        .run(move |conn| crate::store::tenants::get(conn, &id))
        .await?;
    match row {
        None => anyhow::bail!(
            "there is no tenant {} (add it with `fhirgate tenants add {}`)",
            settings.tenant,
            settings.tenant
        ),
        Some(r) if r.disabled => {
            tracing::warn!(tenant = %settings.tenant, "acting for a disabled tenant");
        }
        Some(_) => {}
    }
    Ok(db.for_tenant(&settings.tenant))
}
