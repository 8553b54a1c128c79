//! One MLLP frame in, its acknowledgement(s) out (issue #5).
//!
//! Durability (HL7 v2.5.1 section 2.9.2, original mode: the receiver
//! acknowledges after it has safely stored the message): a message and every
//! resource made from it commit in ONE database transaction together with its
//! `hl7_messages` row, and only then is AA sent. A message refused (AR) or not
//! applied (AE) is stored raw with its outcome, in its own transaction, before
//! its ACK goes out. A message already accepted from the same sender with the
//! same MSH-10 is not applied again: the same message gets the ACK it got the
//! first time, another message gets AE (`dedupe.rs`).
//!
//! One `Ingestor` serves one tenant: `router.rs` picks it for each message
//! (issue #18), and everything here (the duplicate check, the stored row and
//! its ACK, the AuditEvents, the resources) is that tenant's, through its
//! engine's database handle. The paths of a message not applied are in
//! `refuse.rs`.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use diesel::Connection;
use fhirgate_hl7::{Message, ParseError};

use super::ack;
use super::config::clients::SenderGrant;
use super::dedupe::{self, Seen};
use super::metrics::Held;
use super::senders::{self, sender_of};
use crate::crypto::Keyring;
use crate::fhir::engine::transaction::{retrying, MergeFn, Merges, Transient};
use crate::fhir::engine::{Engine, Origin, Principal};
use crate::fhir::error::FhirError;
use crate::metrics::hl7_tenants::TenantHl7;
use crate::metrics::Metrics;
use crate::store::hl7::{self as messages, Received, Sender};
use crate::store::{Db, StoreError};
use crate::tenant::TenantId;

/// The HL7 ingest of one tenant.
pub struct Ingestor {
    /// Every mapped Bundle is carried out by the FHIR engine.
    pub engine: Arc<Engine>,
    /// The tenant messages are stored for.
    pub tenant: TenantId,
    /// Who a message acts as: the anonymous local principal until senders
    /// are authenticated (engine/access.rs).
    pub principal: Principal,
    pub metrics: Arc<Metrics>,
    pub map: fhirgate_v2fhir::MapOptions,
    /// FHIR base for the transaction's fullUrls and Locations.
    pub base: String,
}

/// What the message store needs in a blocking closure.
#[derive(Clone)]
pub(super) struct Keys {
    pub(super) keyring: Arc<Keyring>,
    pub(super) tenant: TenantId,
}

/// The mapping's site configuration from the settings.
pub fn map_options(s: &super::config::Hl7Settings) -> fhirgate_v2fhir::MapOptions {
    fhirgate_v2fhir::MapOptions {
        facility_offsets: s.facility_offsets.clone().into_iter().collect(),
        default_offset: s.default_offset,
        ..Default::default()
    }
}

/// What became of one message that mapped.
enum Applied {
    New,
    /// Another delivery was accepted first: its stored ACK frames.
    Duplicate(Vec<u8>),
    /// Another message was accepted under this control id: not applied.
    Conflict,
}

fn type_of(msg: &Message) -> String {
    let (t, e) = msg.message_type();
    format!("{t}^{e}")
}

/// The stored identity of a message (sender, MSH-10, MSH-9, peer); empty where
/// the message could not be parsed.
pub(super) fn received_of(msg: Option<&Message>, sender: Sender, peer: Option<String>) -> Received {
    Received {
        sender,
        control_id: msg.map(|m| m.control_id().to_owned()).unwrap_or_default(),
        message_type: msg.map(type_of).unwrap_or_default(),
        peer,
    }
}

impl Ingestor {
    pub fn db(&self) -> &Db {
        self.engine.db()
    }

    pub(super) fn keys(&self) -> Keys {
        Keys {
            keyring: self.engine.keyring().clone(),
            tenant: self.tenant.clone(),
        }
    }

    /// The ingest of a tenant's site. `base`: the site's FHIR base as the
    /// server is reached (fullUrls and Locations of the transaction).
    pub fn for_site(
        site: &crate::fhir::AppState,
        map: fhirgate_v2fhir::MapOptions,
        base: String,
    ) -> Self {
        Self {
            engine: site.engine.clone(),
            tenant: site.tenant.clone(),
            principal: site.principal.clone(),
            metrics: site.metrics.clone(),
            map,
            base,
        }
    }

    /// A batch whose structure or counts are wrong is refused whole: a
    /// missing trailer is what a truncated transfer looks like.
    pub async fn batch_refused(
        &self,
        raw: &[u8],
        e: &ParseError,
        peer: Option<String>,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let _in_flight = self.arrived(raw.len());
        let (err, frames) = ack::for_parse_error(raw, e);
        self.refused(raw, None, &err, frames, peer).await
    }

    /// Counts a message in; the guard counts it out of the queue when answered.
    pub(super) fn arrived(&self, bytes: usize) -> Held<'_> {
        let m = &self.metrics.hl7;
        m.received.fetch_add(1, Ordering::Relaxed);
        self.counts().received.fetch_add(1, Ordering::Relaxed);
        m.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        Held::enter(&m.queue_depth)
    }

    /// This tenant's counters (`fhirgate_hl7_tenant_*`).
    pub(super) fn counts(&self) -> Arc<TenantHl7> {
        self.metrics.hl7.by_tenant.of(self.tenant.as_str())
    }

    /// Answers one message with the frames its MSH-15/MSH-16 ask for.
    pub async fn message(
        &self,
        raw: Vec<u8>,
        peer: Option<String>,
        grant: Option<&SenderGrant>,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let parsed = fhirgate_hl7::parse(&raw);
        self.parsed(raw, parsed, peer, grant).await
    }

    /// [`Self::message`] once parsed (the router parses it to route it).
    #[tracing::instrument(skip_all, fields(bytes = raw.len(), tenant = %self.tenant))]
    pub async fn parsed(
        &self,
        raw: Vec<u8>,
        parsed: Result<Message, ParseError>,
        peer: Option<String>,
        grant: Option<&SenderGrant>,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let m = &self.metrics.hl7;
        let _in_flight = self.arrived(raw.len());
        let msg = match parsed {
            Ok(msg) => msg,
            Err(pe) => {
                let (err, frames) = ack::for_parse_error(&raw, &pe);
                return self.refused(&raw, None, &err, frames, peer).await;
            }
        };
        if let Err(err) = ack::check_header(&msg) {
            let frames = ack::for_error(&msg, &err);
            return self.refused(&raw, Some(&msg), &err, frames, peer).await;
        }
        // Before anything is looked up: a connection sending as a sender it may
        // not learns nothing, not even the ACK of a message accepted under its
        // MSH-10 (issue #17).
        if let Err(err) = senders::check(&msg, grant) {
            let client = grant.and_then(|g| g.client.as_deref()).unwrap_or("none");
            tracing::warn!(%client, control_id = %msg.control_id(),
                "HL7 message from a sender the client certificate is not mapped to; answered AR");
            let frames = ack::for_error(&msg, &err);
            return self.refused(&raw, Some(&msg), &err, frames, peer).await;
        }
        let sender = sender_of(&msg);
        // The duplicate check is made inside `apply`'s transaction, under the
        // message's lock; a message that no longer maps (a mapping change since
        // it was accepted) is checked here, so it still gets its first ACK.
        let mapped = match fhirgate_v2fhir::to_bundle(&msg, &self.map) {
            Ok(m) => m,
            Err(me) => {
                match self.seen_before(&sender, msg.control_id(), &raw).await? {
                    Some(Seen::Same(first)) => {
                        m.duplicates.fetch_add(1, Ordering::Relaxed);
                        self.counts().duplicates.fetch_add(1, Ordering::Relaxed);
                        return Ok(ack::split(&first));
                    }
                    Some(Seen::Other) => return self.conflict(&raw, &msg, peer).await,
                    None => {}
                }
                let err = ack::map_error(&me);
                let frames = ack::for_error(&msg, &err);
                return self.refused(&raw, Some(&msg), &err, frames, peer).await;
            }
        };
        if let Err(err) = self.throttle(&sender, &mapped.bundle).await {
            let frames = ack::for_error(&msg, &err);
            let status = super::backpressure::AUDIT_STATUS;
            return self
                .refused_as(&raw, Some(&msg), &err, frames, peer, status)
                .await;
        }
        let accepted = ack::accepted(&msg);
        let stored = ack::join(&accepted);
        match self
            .apply(&raw, &msg, &sender, mapped, &stored, peer.clone())
            .await
        {
            Ok(Applied::New) => {
                m.accepted.fetch_add(1, Ordering::Relaxed);
                self.counts().accepted.fetch_add(1, Ordering::Relaxed);
                Ok(accepted)
            }
            Ok(Applied::Duplicate(first)) => {
                m.duplicates.fetch_add(1, Ordering::Relaxed);
                self.counts().duplicates.fetch_add(1, Ordering::Relaxed);
                tracing::info!(control_id = %msg.control_id(), "duplicate HL7 message; answered with its original ACK");
                Ok(ack::split(&first))
            }
            Ok(Applied::Conflict) => self.conflict(&raw, &msg, peer).await,
            Err(ApplyError::Store(e)) => Err(e),
            // The database went away under the transaction: nothing was applied,
            // and an AE would tell the sender not to resend it.
            Err(ApplyError::Fhir(FhirError::Unavailable(m))) => Err(StoreError::Pool(m)),
            Err(ApplyError::Fhir(fe)) => {
                let err = super::fhir_refusal::from_fhir(&fe);
                let frames = ack::for_error(&msg, &err);
                self.refused(&raw, Some(&msg), &err, frames, peer).await
            }
        }
    }

    /// Applies the message's Bundle and stores it as accepted, in one transaction.
    async fn apply(
        &self,
        raw: &[u8],
        msg: &Message,
        sender: &Sender,
        mapped: fhirgate_v2fhir::Mapped,
        ack: &[u8],
        peer: Option<String>,
    ) -> Result<Applied, ApplyError> {
        let merges = merges_of(&mapped);
        let bundle = mapped.bundle;
        let (svc, base) = (self.keys(), self.base.clone());
        let (engine, principal) = (self.engine.clone(), self.principal.clone());
        let (raw, ack) = (raw.to_vec(), ack.to_vec());
        let received = received_of(Some(msg), sender.clone(), peer.clone());
        let origin = Origin {
            client_addr: peer,
            server_addr: None,
        };
        self.db()
            .run(move |conn| {
                // A deadlock with a concurrent message: the whole message again.
                retrying(|| {
                    conn.transaction(|conn| {
                        let (sender, control) = (&received.sender, received.control_id.as_str());
                        messages::lock_control_id(conn, &svc.tenant, sender, control)?;
                        // Under the lock: a delivery racing on another connection has
                        // either committed (then this is a duplicate) or not started.
                        let digest = dedupe::digest(conn, &svc.keyring, &svc.tenant, &raw)?;
                        match dedupe::seen(
                            conn,
                            &svc.keyring,
                            &svc.tenant,
                            sender,
                            control,
                            &digest,
                        )? {
                            Some(Seen::Same(first)) => return Ok(Applied::Duplicate(first)),
                            Some(Seen::Other) => return Ok(Applied::Conflict),
                            None => {}
                        }
                        engine
                            .apply_bundle_in(
                                conn,
                                &svc.tenant,
                                &principal,
                                &origin,
                                &base,
                                &bundle,
                                &merges,
                            )
                            .map_err(ApplyError::Fhir)?;
                        let row = received.row(&raw, &digest, "AA", &ack, None);
                        messages::insert(conn, &svc.keyring, &svc.tenant, &row)?;
                        Ok(Applied::New)
                    })
                })
            })
            .await
    }
}

pub(super) enum ApplyError {
    Store(StoreError),
    Fhir(FhirError),
}

impl Transient for ApplyError {
    fn is_transient(&self) -> bool {
        match self {
            ApplyError::Store(e) => e.is_retryable(),
            ApplyError::Fhir(e) => e.is_transient(),
        }
    }
}

impl From<StoreError> for ApplyError {
    fn from(e: StoreError) -> Self {
        ApplyError::Store(e)
    }
}

impl From<diesel::result::Error> for ApplyError {
    fn from(e: diesel::result::Error) -> Self {
        ApplyError::Store(StoreError::Db(e))
    }
}

/// The entries the mapping wants merged with what is stored
/// (`fhirgate_v2fhir::Merge`: A40's retired patient, the links of ADT patients).
pub(crate) fn merges_of(mapped: &fhirgate_v2fhir::Mapped) -> Merges {
    mapped
        .entries
        .iter()
        .filter_map(|e| {
            let kind = e.merge?;
            let merge: MergeFn =
                Box::new(move |stored, entry| fhirgate_v2fhir::merge(kind, stored, entry));
            Some((e.full_url.clone(), merge))
        })
        .collect()
}
