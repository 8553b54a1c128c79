//! Building and running the application: shared by `fhirgate serve` and the
//! integration tests (which start it on port 0 against their own database).

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::dev::Service;
use actix_web::{web, App, HttpServer};
use anyhow::Context;

use crate::audit::AuditWriter;
use crate::config::Settings;
use crate::crypto::MasterKey;
use crate::fhir::engine::Principal;
use crate::fhir::{AppState, FhirModel};
use crate::hl7::ingest::Ingestor;
use crate::limits::gate::ConnGate;
use crate::store::Db;

pub struct Application {
    port: u16,
    mllp: Hl7Ports,
    ingest: Arc<Ingestor>,
    authority: Arc<crate::auth::Authority>,
    tenancy: Arc<crate::fhir::tenancy::Tenancy>,
    server: Server,
    /// /healthz, /readyz and /metrics on `--ops-addr`, and its port.
    ops: Option<(Server, u16)>,
    audit_writer: AuditWriter,
    listeners: crate::hl7::listener::Listeners,
    /// Stops the statistics task (store/statistics.rs).
    maintenance_stop: Arc<std::sync::atomic::AtomicBool>,
}

// Kept with the listener (the MLLP side does not import the HTTP layer).
pub use crate::hl7::listener::Hl7Ports;

// Opening the store is below the protocol adapters (`fhirgate import` opens it too).
pub use crate::runtime::open_store;

impl Application {
    /// Binds the listener and prepares the server; nothing is served until [`run`].
    pub async fn build(
        settings: &Settings,
        db: Db,
        model: Arc<FhirModel>,
        master: MasterKey,
    ) -> anyhow::Result<Self> {
        Self::build_inner(settings, db, model, master, None).await
    }

    /// [`Self::build`] with every request (HTTP, whatever its token, and
    /// MLLP) acting as `principal`: the tests of the engine's decision point.
    pub async fn build_as(
        settings: &Settings,
        db: Db,
        model: Arc<FhirModel>,
        master: MasterKey,
        principal: Principal,
    ) -> anyhow::Result<Self> {
        Self::build_inner(settings, db, model, master, Some(principal)).await
    }

    async fn build_inner(
        settings: &Settings,
        db: Db,
        model: Arc<FhirModel>,
        master: MasterKey,
        principal: Option<Principal>,
    ) -> anyhow::Result<Self> {
        if settings.auth.insecure_no_auth && !settings.http_addr.ip().is_loopback() {
            anyhow::bail!(
                "--insecure-no-auth serves every record to anyone: it is refused on a non-loopback address"
            );
        }
        if settings.auth.insecure_no_auth {
            tracing::warn!(
                "serving WITHOUT authorization (--insecure-no-auth): for benchmarks only"
            );
        }
        let listener = TcpListener::bind(settings.http_addr)
            .with_context(|| format!("binding {}", settings.http_addr))?;
        let port = listener.local_addr()?.port();
        let maintenance_stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let serving = crate::runtime::serving_db(&db, settings).await?;
        let (tenancy, audit_writer) = crate::runtime::app_state(
            settings,
            serving,
            model,
            master,
            crate::runtime::Serving {
                http_addr: std::net::SocketAddr::new(settings.http_addr.ip(), port),
                fixed_principal: principal,
                stop: maintenance_stop.clone(),
            },
        )
        .await?;
        let state = web::Data::from(
            tenancy
                .default_site()
                .context("the default tenant is not served")?,
        );
        // ANALYZE needs the tables' owner: the owner's login, not the serving role's.
        crate::store::statistics::start(db.clone(), maintenance_stop.clone()).await;
        tenancy.start_refreshing();
        tenancy.start_polling_revocations();
        let metrics = state.metrics.clone();
        let reached = std::net::SocketAddr::new(settings.http_addr.ip(), port);
        // Each HL7 message goes to the tenant it is routed to (issue #18).
        let router = Arc::new(crate::hl7::router::Router::new(
            tenancy.clone(),
            Arc::new(settings.hl7.clone()),
            reached,
            settings.tls.is_some(),
        ));
        router.warn_unserved();
        let ingest = router
            .ingestor(&state.tenant)
            .await?
            .context("the default tenant is not served")?;
        let ingest = Arc::new(ingest);
        let listeners = crate::hl7::listener::start(&settings.hl7, router).await?;
        let mllp = listeners.ports;
        let limits = &settings.limits;
        warn_if_over_fd_limit(settings);
        let gate = Arc::new(ConnGate::new(
            limits.max_connections,
            limits.max_connections_per_address,
        ));
        metrics.set_gate(gate.clone());
        let workers = settings.http_workers.max(1);
        let authority = state.authority.clone();
        let ops = ops_server(settings, &state)?;
        let tenants = web::Data::from(tenancy.clone());
        let ops_here = ops.is_none();
        let server = HttpServer::new(move || {
            let metrics = metrics.clone();
            App::new()
                .wrap_fn(move |req, srv| {
                    let metrics = metrics.clone();
                    let response = srv.call(req);
                    async move {
                        let response = response.await?;
                        metrics.http_response(response.status().as_u16());
                        Ok(response)
                    }
                })
                .app_data(state.clone())
                .app_data(tenants.clone())
                .configure(|cfg| {
                    if ops_here {
                        crate::fhir::handlers::configure_ops(cfg);
                    }
                })
                .configure(crate::fhir::handlers::configure)
                .default_service(web::to(crate::fhir::handlers::not_found))
        })
        .workers(workers)
        // actix's cap is per worker: the overall cap shared out, rounded up (the
        // gate holds the exact number).
        .max_connections(limits.max_connections.div_ceil(workers))
        .client_request_timeout(limits.header_timeout)
        .on_connect(crate::limits::gate::on_connect(gate));
        let server = match &settings.tls {
            None => server.listen(listener)?,
            Some((cert, key)) => {
                server.listen_rustls_0_23(listener, crate::tls::server_config(cert, key)?)?
            }
        };
        Ok(Self {
            port,
            mllp,
            ingest,
            authority,
            tenancy,
            server: server.run(),
            ops,
            audit_writer,
            listeners,
            maintenance_stop,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of `--ops-addr`, when the operations endpoints have their own.
    pub fn ops_port(&self) -> Option<u16> {
        self.ops.as_ref().map(|(_, p)| *p)
    }

    /// The built-in authorization server (tests mint tokens with it).
    pub fn authority(&self) -> Arc<crate::auth::Authority> {
        self.authority.clone()
    }

    /// The tenants' registry (tests reach other tenants' sites through it).
    pub fn tenancy(&self) -> Arc<crate::fhir::tenancy::Tenancy> {
        self.tenancy.clone()
    }

    pub fn mllp_ports(&self) -> Hl7Ports {
        self.mllp
    }

    /// The ports of the tenant MLLP listeners (`--mllp-tenant-addr`).
    pub fn mllp_tenant_ports(&self) -> Vec<(crate::tenant::TenantId, u16)> {
        self.listeners.tenant_ports.clone()
    }

    /// The default tenant's HL7 ingest (tests replay through it).
    pub fn ingestor(&self) -> Arc<Ingestor> {
        self.ingest.clone()
    }

    /// A handle to stop the server from elsewhere (tests).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until the server stops (SIGINT/SIGTERM), then drains the audit queue.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let ops = self.ops.map(|(server, _)| {
            let handle = server.handle();
            (tokio::spawn(server), handle)
        });
        self.server.await?;
        if let Some((task, handle)) = ops {
            handle.stop(true).await;
            let _ = task.await;
        }
        // Then MLLP: no new messages; those being applied are finished and
        // acknowledged. Past the grace period a connection is cut, and its message
        // is either committed (stored as accepted) or not (the sender resends).
        self.listeners
            .stop(std::time::Duration::from_secs(10))
            .await;
        self.maintenance_stop
            .store(true, std::sync::atomic::Ordering::Relaxed);
        // The refusals still being counted are recorded, then the audit
        // writer drains once every sender is gone, the ingest's and every
        // tenant's site included.
        self.tenancy.close_refusals(true).await;
        drop(self.ingest);
        drop(self.tenancy);
        drop(self.authority);
        let writer = self.audit_writer;
        tokio::task::spawn_blocking(move || writer.join()).await?;
        Ok(())
    }
}

/// The operations endpoints' own server on `--ops-addr` (plain HTTP, one
/// worker: probes and scrapes are few), when one is configured.
fn ops_server(
    settings: &Settings,
    state: &web::Data<AppState>,
) -> anyhow::Result<Option<(Server, u16)>> {
    let Some(addr) = settings.ops_addr else {
        return Ok(None);
    };
    let listener = TcpListener::bind(addr).with_context(|| format!("binding {addr}"))?;
    let port = listener.local_addr()?.port();
    let state = state.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .configure(crate::fhir::handlers::configure_ops)
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok(Some((server, port)))
}

/// Connections beyond the descriptor limit fail at accept (EMFILE): both
/// listeners then log once, back off and keep serving, but the operator should
/// know that the configured caps allow it.
fn warn_if_over_fd_limit(settings: &Settings) {
    let nofile = crate::limits::fd::soft_limit();
    let wanted = (settings.limits.max_connections + settings.hl7.max_connections) as u64
        + crate::limits::RESERVED_FDS
        + u64::from(settings.db_pool_size);
    if wanted > nofile {
        tracing::warn!(
            nofile,
            http = settings.limits.max_connections,
            mllp = settings.hl7.max_connections,
            "the connection caps allow more connections than the file descriptor limit; \
             past it new connections wait until descriptors are free"
        );
    }
}

/// `fhirgate serve`.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    // Secure defaults (config/bind.rs), before a database is opened or started.
    settings.check_exposure()?;
    let (db, model, master) = open_store(&settings).await?;
    let app = Application::build(&settings, db.clone(), model, master).await?;
    tracing::info!(addr = %settings.http_addr, port = app.port(), "fhirgate is serving FHIR R4 at /fhir");
    let mllp = app.mllp_ports();
    if let Some(p) = mllp.plain {
        tracing::info!(port = p, "fhirgate is listening for HL7 v2 over MLLP");
    }
    if let Some(p) = mllp.tls {
        tracing::info!(
            port = p,
            "fhirgate is listening for HL7 v2 over MLLP with TLS"
        );
    }
    for (tenant, p) in app.mllp_tenant_ports() {
        tracing::info!(port = p, %tenant, "fhirgate is listening for one tenant's HL7 v2 over MLLP");
    }
    let result = app.run_until_stopped().await;
    db.shutdown().await;
    tracing::info!("fhirgate stopped");
    result
}
