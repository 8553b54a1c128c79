//! The clinics one gateway serves (issue #18): each tenant its own FHIR base
//! (`/fhir` for the default tenant, `/t/{slug}/fhir` for the others), its
//! own [`AppState`] with an engine whose database handle is bound to it (every
//! transaction sets `app.tenant`, store/pool.rs), its own authorization
//! server (signing keys, issuer and audience: its base) and audit records.
//! What costs memory or a thread is shared: the connection pools, the keyring,
//! the FHIR model, the audit writer, the metrics.
//!
//! A tenant's state is built on its first request, from the `tenants` table
//! (store/tenants.rs). The table is read again every [`REFRESH`], and at
//! most once a second for a slug not known yet, so that `fhirgate tenants
//! add` and `disable` take effect on a running server without a restart, and
//! a scan of made-up slugs costs no query per request.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::base::BaseUrl;
use super::engine::{Engine, EngineLimits, Principal};
use super::{AppState, FhirModel};
use crate::audit::AuditSink;
use crate::config::auth::AuthSettings;
use crate::crypto::{Keyring, MasterKey};
use crate::metrics::Metrics;
use crate::store::tenants::TenantRow;
use crate::store::Db;
use crate::tenant::TenantId;

/// How often the tenants table is read again.
pub const REFRESH: Duration = Duration::from_secs(5);
/// How long every site keeps reading its revocations after the revocation
/// sequence moved: a revocation commits a moment after its number is taken.
const REVOCATION_WINDOW: Duration = Duration::from_secs(3);
/// The least time between two reads for a slug not known yet.
const MISS_REFRESH: Duration = Duration::from_secs(1);

/// What every tenant's state is made of.
pub struct Parts {
    /// The serving pool, bound to no tenant.
    pub db: Db,
    pub keyring: Arc<Keyring>,
    pub model: Arc<FhirModel>,
    /// The audit writer's handle (bound to a tenant per site).
    pub audit: AuditSink,
    pub master: MasterKey,
    pub auth: AuthSettings,
    /// The default tenant's base rules; every site's are derived from it.
    pub base: BaseUrl,
    /// The HTTP listening address and scheme: the issuer's base when no base
    /// URL is configured.
    pub server_addr: SocketAddr,
    pub tls: bool,
    pub limits: EngineLimits,
    pub principal: Principal,
    pub fixed_principal: Option<Principal>,
    pub max_body: usize,
    pub body_timeout: Duration,
    pub max_json_nodes: usize,
    pub parse_budget: Arc<crate::limits::budget::ParseBudget>,
    pub metrics: Arc<Metrics>,
    /// Set at shutdown: stops the authorities' revocation polling.
    pub stop: Arc<AtomicBool>,
    /// The rate limits of every tenant (one limiter: its buckets are keyed
    /// by tenant and client); each tenant's overrides from the table.
    pub limiter: Arc<crate::limits::rate::Limiter>,
}

/// A tenant's rates: its overrides in the table over the server's defaults;
/// None when it has none.
fn rates_of(row: &TenantRow, d: &crate::limits::rate::Rates) -> Option<crate::limits::rate::Rates> {
    let overridden = row.rate_per_sec.is_some()
        || row.burst.is_some()
        || row.client_rate_per_sec.is_some()
        || row.client_burst.is_some()
        || row.hl7_queue.is_some();
    overridden.then(|| crate::limits::rate::Rates {
        tenant_per_sec: row.rate_per_sec.or(d.tenant_per_sec),
        tenant_burst: row.burst.or(d.tenant_burst),
        client_per_sec: row.client_rate_per_sec.or(d.client_per_sec),
        client_burst: row.client_burst.or(d.client_burst),
        hl7_queue: row
            .hl7_queue
            .and_then(|q| usize::try_from(q).ok())
            .unwrap_or(d.hl7_queue),
    })
}

/// Why no site answers a base.
#[derive(Debug)]
pub enum SiteError {
    /// No such tenant, or a disabled one (the same answer for both).
    NotFound,
    /// The tenant exists and its state could not be built.
    Failed(String),
}

struct Known {
    rows: HashMap<String, TenantRow>,
    read_at: Option<Instant>,
}

pub struct Tenancy {
    parts: Parts,
    sites: RwLock<HashMap<String, Arc<AppState>>>,
    known: RwLock<Known>,
    /// One site is built at a time (a first burst of requests builds it once).
    building: tokio::sync::Mutex<()>,
}

impl Tenancy {
    /// The registry, with the default tenant's site built (so that a broken
    /// key or database fails the start, not the first request).
    pub async fn start(parts: Parts) -> Result<Arc<Self>, SiteError> {
        let me = Arc::new(Self {
            parts,
            sites: RwLock::new(HashMap::new()),
            known: RwLock::new(Known {
                rows: HashMap::new(),
                read_at: None,
            }),
            building: tokio::sync::Mutex::new(()),
        });
        me.refresh().await?;
        me.site(&TenantId::default_tenant()).await?;
        Ok(me)
    }

    pub fn parts(&self) -> &Parts {
        &self.parts
    }

    /// The default tenant's site (built at start).
    pub fn default_site(&self) -> Option<Arc<AppState>> {
        self.cached(TenantId::DEFAULT)
    }

    fn cached(&self, id: &str) -> Option<Arc<AppState>> {
        self.sites.read().ok().and_then(|s| s.get(id).cloned())
    }

    /// The site of the base a request came to: None for `/fhir` (the default
    /// tenant), else the `{slug}` of `/t/{slug}/fhir`. The default tenant has
    /// no second base.
    pub async fn site_for_slug(&self, slug: Option<&str>) -> Result<Arc<AppState>, SiteError> {
        let tenant = match slug {
            None => TenantId::default_tenant(),
            Some(s) => TenantId::parse_slug(s).map_err(|_| SiteError::NotFound)?,
        };
        if slug.is_some() && tenant.is_default() {
            return Err(SiteError::NotFound);
        }
        self.site(&tenant).await
    }

    /// The site of an enabled tenant; built on first use.
    pub async fn site(&self, tenant: &TenantId) -> Result<Arc<AppState>, SiteError> {
        if let Some(site) = self.cached(tenant.as_str()) {
            return Ok(site);
        }
        if !self.is_enabled(tenant) {
            let stale = self
                .known
                .read()
                .ok()
                .and_then(|k| k.read_at)
                .is_none_or(|at| at.elapsed() >= MISS_REFRESH);
            if !stale {
                return Err(SiteError::NotFound);
            }
            self.refresh().await?;
            if !self.is_enabled(tenant) {
                return Err(SiteError::NotFound);
            }
        }
        let _one = self.building.lock().await;
        if let Some(site) = self.cached(tenant.as_str()) {
            return Ok(site);
        }
        let site = self.build(tenant).await?;
        if let Ok(mut sites) = self.sites.write() {
            sites.insert(tenant.as_str().to_owned(), site.clone());
        }
        Ok(site)
    }

    /// The tenants known from the last read of the table.
    pub fn tenants(&self) -> Vec<TenantRow> {
        let mut rows: Vec<TenantRow> = self
            .known
            .read()
            .map(|k| k.rows.values().cloned().collect())
            .unwrap_or_default();
        rows.sort_by(|a, b| a.id.cmp(&b.id));
        rows
    }

    fn is_enabled(&self, tenant: &TenantId) -> bool {
        self.known
            .read()
            .ok()
            .and_then(|k| k.rows.get(tenant.as_str()).map(|r| !r.disabled))
            .unwrap_or(false)
    }

    /// Reads the tenants table again; a tenant disabled since is no longer
    /// served (its site is dropped).
    pub async fn refresh(&self) -> Result<(), SiteError> {
        let rows = self
            .parts
            .db
            .run(crate::store::tenants::list)
            .await
            .map_err(|e| SiteError::Failed(format!("reading the tenants: {e}")))?;
        let rows: HashMap<String, TenantRow> =
            rows.into_iter().map(|r| (r.id.clone(), r)).collect();
        if let Ok(mut sites) = self.sites.write() {
            sites.retain(|id, _| rows.get(id).is_some_and(|r| !r.disabled));
        }
        for row in rows.values() {
            if let Ok(t) = TenantId::parse(&row.id) {
                self.parts
                    .limiter
                    .configure(&t, rates_of(row, &self.parts.limits.rates));
            }
        }
        if let Ok(mut known) = self.known.write() {
            known.rows = rows;
            known.read_at = Some(Instant::now());
        }
        Ok(())
    }

    /// Records the counted refusals of every site whose windows are over
    /// (every window when `all`: at shutdown; audit/refusals.rs).
    pub async fn close_refusals(&self, all: bool) {
        for site in self.loaded() {
            site.engine.close_refusals(all).await;
        }
    }

    /// The sites built so far.
    fn loaded(&self) -> Vec<Arc<AppState>> {
        self.sites
            .read()
            .map(|s| s.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Reads the tenants table every [`REFRESH`] until `stop`, and closes
    /// the refusal windows that are over.
    pub fn start_refreshing(self: &Arc<Self>) {
        let me = Arc::downgrade(self);
        let stop = self.parts.stop.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(REFRESH).await;
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let Some(t) = me.upgrade() else { return };
                t.close_refusals(false).await;
                if let Err(SiteError::Failed(e)) = t.refresh().await {
                    tracing::debug!(error = %e, "reading the tenants");
                }
            }
        });
    }

    /// Keeps every site's revocations up to date until `stop`: once a
    /// second one read of the revocation sequence, shared by every tenant;
    /// while it has moved in the last [`REVOCATION_WINDOW`], each site reads
    /// its tenant's new revocations. One poll per site per second was 200
    /// transactions a second with 200 clinics loaded (docs/performance.md).
    pub fn start_polling_revocations(self: &Arc<Self>) {
        let me = Arc::downgrade(self);
        let stop = self.parts.stop.clone();
        tokio::spawn(async move {
            let mut last: Option<i64> = None;
            let mut moved_at: Option<Instant> = None;
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let Some(t) = me.upgrade() else { return };
                let now = t
                    .parts
                    .db
                    .run(crate::store::auth::revocations::last_seq)
                    .await;
                let now = match now {
                    Ok(now) => now,
                    Err(e) => {
                        tracing::debug!(error = %e, "polling token revocations");
                        continue;
                    }
                };
                if last != Some(now) {
                    (last, moved_at) = (Some(now), Some(Instant::now()));
                }
                if moved_at.is_none_or(|at| at.elapsed() >= REVOCATION_WINDOW) {
                    continue;
                }
                for site in t.loaded() {
                    if let Err(e) = site.authority.poll_revocations().await {
                        tracing::debug!(error = %e, "polling token revocations");
                    }
                }
            }
        });
    }

    async fn build(&self, tenant: &TenantId) -> Result<Arc<AppState>, SiteError> {
        let p = &self.parts;
        let failed = |what: &str, e: &dyn std::fmt::Display| {
            SiteError::Failed(format!("tenant {tenant}: {what}: {e}"))
        };
        let db = p.db.for_tenant(tenant);
        {
            let (k, t) = (p.keyring.clone(), tenant.clone());
            db.run(move |conn| k.ensure_tenant(conn, t.as_str()))
                .await
                .map_err(|e| failed("creating the data keys", &e))?;
        }
        let base = p.base.for_tenant(tenant);
        let issuer = base.for_server(p.server_addr, p.tls);
        let authority = crate::auth::Authority::load(
            db.clone(),
            p.master.clone(),
            tenant.clone(),
            issuer,
            p.auth.clone(),
        )
        .await
        .map_err(|e| failed("loading the token signing keys", &e))?;
        let engine = Arc::new(
            Engine::new(
                db,
                p.keyring.clone(),
                p.model.clone(),
                p.audit.for_tenant(tenant),
                p.limits,
            )
            .with_limiter(p.limiter.clone()),
        );
        tracing::info!(tenant = %tenant, base = base.path(), "serving a tenant");
        Ok(Arc::new(AppState {
            engine,
            tenant: tenant.clone(),
            principal: p.principal.clone(),
            authority,
            fixed_principal: p.fixed_principal.clone(),
            base,
            max_body: p.max_body,
            body_timeout: p.body_timeout,
            max_json_nodes: p.max_json_nodes,
            parse_budget: p.parse_budget.clone(),
            metrics: p.metrics.clone(),
            tenant_metrics: p.metrics.tenants.of(tenant.as_str()),
        }))
    }
}

impl std::fmt::Display for SiteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SiteError::NotFound => f.write_str("no such FHIR base"),
            SiteError::Failed(e) => f.write_str(e),
        }
    }
}
