//! The front every MLLP listener hands its frames to (issue #18): each
//! message is routed to a tenant (`route.rs`) and ingested by that tenant's
//! [`Ingestor`], over the tenant's own site (`fhir/tenancy.rs`: its engine,
//! whose database handle is bound to it). Routing happens right after the
//! message parses and before anything is looked up, so a message refused for
//! its route has seen no tenant's data: not even the ACK of a message
//! accepted under its control id.
//!
//! A message no tenant claims (or whose tenant is unknown or disabled) is
//! kept raw under the server-level scope `_server`, sealed with that scope's
//! own data key, answered AR, audited in the server's trail, and listed by
//! `fhirgate hl7 unrouted` for the operator; no FHIR base serves it.

use std::net::SocketAddr;
use std::sync::Arc;

use super::ack;
use super::config::Hl7Settings;
use super::ingest::Ingestor;
use super::route::{self, Resolved, Via};
use crate::fhir::engine::Engine;
use crate::fhir::tenancy::{SiteError, Tenancy};
use crate::metrics::Metrics;
use crate::store::StoreError;
use crate::tenant::TenantId;

pub struct Router {
    tenancy: Arc<Tenancy>,
    settings: Arc<Hl7Settings>,
    map: fhirgate_v2fhir::MapOptions,
    /// How the server is reached, for each site's base (fullUrls, Locations).
    server_addr: SocketAddr,
    tls: bool,
    /// The server-level ingest, for messages no tenant claims; made on the
    /// first one.
    server: tokio::sync::OnceCell<Arc<Ingestor>>,
}

impl Router {
    pub fn new(
        tenancy: Arc<Tenancy>,
        settings: Arc<Hl7Settings>,
        server_addr: SocketAddr,
        tls: bool,
    ) -> Self {
        Self {
            map: super::ingest::map_options(&settings),
            tenancy,
            settings,
            server_addr,
            tls,
            server: tokio::sync::OnceCell::new(),
        }
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.tenancy.parts().metrics
    }

    /// Warns about tenants the routing names that are not served (yet): their
    /// messages get AR until they are added or enabled.
    pub fn warn_unserved(&self) {
        let known = self.tenancy.tenants();
        for t in self.settings.routed_tenants() {
            let served = known.iter().any(|r| r.id == t.as_str() && !r.disabled);
            if !served {
                tracing::warn!(tenant = %t, "HL7 routing names a tenant that is not served; \
                    its messages are refused (AR) until it is added or enabled");
            }
        }
    }

    /// Answers one MLLP frame: a message, or a batch of them (v2.5.1 section
    /// 2.10.3), whose acknowledgements go back as one batch; each message of a
    /// batch is routed by itself. `Err` means nothing could be stored: the
    /// caller must close the connection without an ACK.
    pub async fn frame(
        &self,
        raw: Vec<u8>,
        peer: Option<String>,
        via: Via<'_>,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        match fhirgate_hl7::split_batch(&raw) {
            Err(e) => {
                // Nothing to route by but the listener.
                let ingest = match route::resolve(&self.settings, via, None) {
                    Resolved::Tenant(t) => match self.ingestor(&t).await? {
                        Some(i) => Arc::new(i),
                        None => self.server().await?,
                    },
                    Resolved::Unrouted(_) => self.server().await?,
                };
                ingest.batch_refused(&raw, &e, peer).await
            }
            Ok(batch) if batch.is_envelope() => {
                let mut acks = Vec::new();
                for m in batch.messages() {
                    acks.extend(self.message(m.to_vec(), peer.clone(), via).await?);
                }
                Ok(vec![ack::batch_reply(&batch, &acks)])
            }
            Ok(batch) if batch.message_count() > 1 => {
                let mut acks = Vec::new();
                for m in batch.messages() {
                    acks.extend(self.message(m.to_vec(), peer.clone(), via).await?);
                }
                Ok(acks)
            }
            Ok(_) => self.message(raw, peer, via).await,
        }
    }

    /// Routes one message and answers it.
    pub async fn message(
        &self,
        raw: Vec<u8>,
        peer: Option<String>,
        via: Via<'_>,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let parsed = fhirgate_hl7::parse(&raw);
        let why = match route::resolve(&self.settings, via, parsed.as_ref().ok()) {
            Resolved::Tenant(t) => match self.ingestor(&t).await? {
                Some(ingest) => return ingest.parsed(raw, parsed, peer, via.grant).await,
                None => format!("the tenant {t} is unknown or disabled"),
            },
            Resolved::Unrouted(why) => why,
        };
        self.server()
            .await?
            .unrouted(raw, parsed, &route::refusal(&why), peer)
            .await
    }

    /// The ingest of an enabled tenant; None for an unknown or disabled one.
    pub async fn ingestor(&self, tenant: &TenantId) -> Result<Option<Ingestor>, StoreError> {
        match self.tenancy.site(tenant).await {
            Ok(site) => {
                let base = site.base.for_server(self.server_addr, self.tls);
                Ok(Some(Ingestor::for_site(&site, self.map.clone(), base)))
            }
            Err(SiteError::NotFound) => Ok(None),
            // The tenants or the tenant's keys could not be read: as for any
            // store failure, no ACK (the sender resends).
            Err(SiteError::Failed(e)) => Err(StoreError::Pool(e)),
        }
    }

    /// The server-level ingest (`_server`, with its own data key).
    async fn server(&self) -> Result<Arc<Ingestor>, StoreError> {
        let made = self.server.get_or_try_init(|| async {
            let p = self.tenancy.parts();
            let tenant = TenantId::server();
            let db = p.db.for_tenant(&tenant);
            let (k, t) = (p.keyring.clone(), tenant.clone());
            db.run(move |conn| k.ensure_tenant(conn, t.as_str()))
                .await?;
            let engine = Engine::new(
                db,
                p.keyring.clone(),
                p.model.clone(),
                p.audit.for_tenant(&tenant),
                p.limits,
            );
            Ok::<_, StoreError>(Arc::new(Ingestor {
                engine: Arc::new(engine),
                tenant,
                principal: p.principal.clone(),
                metrics: p.metrics.clone(),
                map: self.map.clone(),
                // Nothing is applied for the server scope: no base is needed.
                base: String::new(),
            }))
        });
        made.await.cloned()
    }
}
