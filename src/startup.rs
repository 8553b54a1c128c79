//! Building and running the application: shared by `fhirgate serve` and the
//! integration tests (which start it on port 0 against their own database).

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use anyhow::Context;

use crate::audit::{AuditSink, AuditWriter};
use crate::config::Settings;
use crate::crypto::{Keyring, MasterKey};
use crate::fhir::{AppState, FhirModel};
use crate::store::Db;
use crate::tenant::TenantId;

pub struct Application {
    port: u16,
    server: Server,
    audit_writer: AuditWriter,
}

/// The shared state of a gateway: the data keys checked (created for a new
/// database), the audit writer started. `serve` and `fhirgate import` straight
/// into the database both build it here, so both write the same way.
pub async fn app_state(
    settings: &Settings,
    db: Db,
    model: Arc<FhirModel>,
    master: MasterKey,
) -> anyhow::Result<(web::Data<AppState>, AuditWriter)> {
    let tenant = TenantId::default_tenant();
    let keyring = Arc::new(Keyring::new(master));
    {
        let (k, t) = (keyring.clone(), tenant.clone());
        db.run(move |conn| k.ensure_tenant(conn, t.as_str()))
            .await
            .context("creating the data keys (is the master key the one this database was created with?)")?;
    }
    let (audit, audit_writer) = AuditSink::start(db.clone(), keyring.clone(), tenant.clone());
    let state = web::Data::new(AppState {
        db,
        keyring,
        model,
        audit,
        tenant,
        base_url: settings.base_url.clone(),
        max_body: settings.max_body_bytes,
        max_bundle_entries: settings.max_bundle_entries,
    });
    Ok((state, audit_writer))
}

impl Application {
    /// Binds the listener and prepares the server; nothing is served until [`run`].
    pub async fn build(
        settings: &Settings,
        db: Db,
        model: Arc<FhirModel>,
        master: MasterKey,
    ) -> anyhow::Result<Self> {
        let (state, audit_writer) = app_state(settings, db, model, master).await?;
        let listener = TcpListener::bind(settings.http_addr)
            .with_context(|| format!("binding {}", settings.http_addr))?;
        let port = listener.local_addr()?.port();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .configure(crate::fhir::configure)
                .default_service(web::to(crate::fhir::handlers::not_found))
        })
        .workers(settings.http_workers.max(1));
        let server = match &settings.tls {
            None => server.listen(listener)?,
            Some((cert, key)) => {
                server.listen_rustls_0_23(listener, crate::tls::server_config(cert, key)?)?
            }
        };
        Ok(Self {
            port,
            server: server.run(),
            audit_writer,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle to stop the server from elsewhere (tests).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until the server stops (SIGINT/SIGTERM), then drains the audit queue.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.server.await?;
        let writer = self.audit_writer;
        tokio::task::spawn_blocking(move || writer.join()).await?;
        Ok(())
    }
}

/// The bootstrap of every command that writes: master key (generated on first
/// start), database (configured, local or private cluster), migrations, and the
/// compiled FHIR model.
pub async fn open_store(settings: &Settings) -> anyhow::Result<(Db, Arc<FhirModel>, MasterKey)> {
    let master =
        MasterKey::load_or_generate(settings.master_key_file.as_deref(), &settings.data_dir)?;
    let db = crate::store::bootstrap::open(settings).await?;
    db.migrate().await.context("applying migrations")?;
    let model = Arc::new(tokio::task::spawn_blocking(FhirModel::load).await??);
    Ok((db, model, master))
}

/// `fhirgate serve`.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let (db, model, master) = open_store(&settings).await?;
    let app = Application::build(&settings, db.clone(), model, master).await?;
    tracing::info!(addr = %settings.http_addr, port = app.port(), "fhirgate is serving FHIR R4 at /fhir");
    let result = app.run_until_stopped().await;
    db.shutdown().await;
    tracing::info!("fhirgate stopped");
    result
}
