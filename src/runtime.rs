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
use crate::fhir::engine::{Engine, EngineLimits, Principal};
use crate::fhir::{AppState, FhirModel};
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

/// The issuer URL of the built-in authorization server: the canonical FHIR
/// base (`--base-url`, else the HTTP listening address), also the `aud` its
/// tokens carry.
pub fn issuer(settings: &Settings, http_addr: std::net::SocketAddr) -> String {
    crate::fhir::base::BaseUrl::new(settings).for_server(http_addr, settings.tls.is_some())
}

/// The shared state of a gateway: the data keys checked (created for a new
/// database), the signing keys loaded (generated on first start), the audit
/// writer started.
pub async fn app_state(
    settings: &Settings,
    db: Db,
    model: Arc<FhirModel>,
    master: MasterKey,
    issuer: String,
) -> anyhow::Result<(Arc<AppState>, AuditWriter)> {
    let tenant = TenantId::default_tenant();
    let keyring = Arc::new(Keyring::new(master.clone()));
    {
        let (k, t) = (keyring.clone(), tenant.clone());
        db.run(move |conn| k.ensure_tenant(conn, t.as_str()))
            .await
            .context("creating the data keys (is the master key the one this database was created with?)")?;
    }
    let authority = crate::auth::Authority::load(
        db.clone(),
        master,
        tenant.clone(),
        issuer,
        settings.auth.clone(),
    )
    .await
    .context("loading the token signing keys")?;
    let (audit, audit_writer) = AuditSink::start(db.clone(), keyring.clone(), tenant.clone());
    let parse_budget = Arc::new(crate::limits::budget::ParseBudget::new(
        settings.limits.parse_budget_bytes,
        settings.limits.parse_budget_wait,
    ));
    let metrics = Arc::new(Metrics::default());
    metrics.set_budget(parse_budget.clone());
    let engine = Arc::new(Engine::new(
        db,
        keyring,
        model,
        audit,
        EngineLimits {
            max_bundle_entries: settings.max_bundle_entries,
            max_json_nodes: settings.limits.max_json_nodes,
            rates: settings.rates,
        },
    ));
    let state = Arc::new(AppState {
        engine,
        tenant,
        principal: Principal::anonymous_local(),
        authority,
        fixed_principal: settings
            .auth
            .insecure_no_auth
            .then(Principal::anonymous_local),
        base: crate::fhir::base::BaseUrl::new(settings),
        max_body: settings.max_body_bytes,
        body_timeout: settings.limits.body_timeout,
        max_json_nodes: settings.limits.max_json_nodes,
        parse_budget,
        metrics,
    });
    Ok((state, audit_writer))
}
