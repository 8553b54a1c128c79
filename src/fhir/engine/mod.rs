//! The FHIR engine: every interaction of every entry point (the HTTP API, the
//! HL7 v2 listener, `fhirgate import`) goes through [`Engine::run`] (or, for an
//! HL7 message that commits with its own row, [`Engine::apply_bundle_in`]).
//! It knows nothing of HTTP: it takes an [`Interaction`] and answers a typed
//! [`Outcome`] or a [`FhirError`]. Only the engine builds [`Services`], runs
//! the database work and writes the AuditEvents; every access to a resource
//! is decided at one point (`access.rs`, through `Services::decide`).
//!
//! One file per interaction, each citing the section of
//! http://hl7.org/fhir/R4/http.html it carries out.

pub mod access;
mod confine;
pub mod cost;
mod create;
mod delete;
mod everything;
mod history;
pub mod interaction;
pub mod outcome;
pub(crate) mod patch;
mod read;
mod reads;
mod search;
mod services;
pub mod transaction;
mod update;

use std::sync::Arc;

use diesel::PgConnection;

pub use access::{Access, Action, Principal};
pub use interaction::{HistoryLevel, Interaction, Origin, Query, ReadPreconditions, Request};
pub use outcome::{Current, Outcome};
pub use services::{writes_bookings, Services, Written};

use super::error::FhirError;
use super::FhirModel;
use crate::audit::{AuditRecord, AuditSink};
use crate::crypto::Keyring;
use crate::limits::rate::{retry_after_secs, Limiter, Rates};
use crate::store::writes::WriteSet;
use crate::store::Db;

/// Limits the engine applies to what it is given.
#[derive(Debug, Clone, Copy)]
pub struct EngineLimits {
    /// Entries per transaction or batch Bundle (413 past it).
    pub max_bundle_entries: usize,
    /// JSON values per resource (`fhirgate_validate::parse_json_with`).
    pub max_json_nodes: usize,
    /// The rate limits of every tenant unless configured for it (issue #18);
    /// [`Engine::new`] makes its [`Limiter`] of them.
    pub rates: Rates,
}

/// Shared by every entry point; cheap to share behind an `Arc`.
pub struct Engine {
    db: Db,
    keyring: Arc<Keyring>,
    model: Arc<FhirModel>,
    audit: AuditSink,
    limits: EngineLimits,
    /// Rate limits per tenant and client (issue #18): `limits.rates` for
    /// every tenant until [`Limiter::configure`]d for it.
    limiter: Arc<Limiter>,
    /// Refusals over the rate limits, audited in aggregate.
    refusals: crate::audit::refusals::RefusalTally,
}

impl Engine {
    pub fn new(
        db: Db,
        keyring: Arc<Keyring>,
        model: Arc<FhirModel>,
        audit: AuditSink,
        limits: EngineLimits,
    ) -> Self {
        Self {
            db,
            keyring,
            model,
            audit,
            limits,
            limiter: Arc::new(Limiter::new(limits.rates)),
            refusals: Default::default(),
        }
    }

    /// Shares `limiter` (another engine's) instead of a limiter of its own.
    pub fn with_limiter(mut self, limiter: Arc<Limiter>) -> Self {
        self.limiter = limiter;
        self
    }

    /// The rate limits [`Engine::run`] applies and the HL7 listener waits on;
    /// per-tenant limits are set here ([`Limiter::configure`]).
    pub fn limiter(&self) -> &Arc<Limiter> {
        &self.limiter
    }

    pub fn model(&self) -> &Arc<FhirModel> {
        &self.model
    }

    pub fn keyring(&self) -> &Arc<Keyring> {
        &self.keyring
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn limits(&self) -> EngineLimits {
        self.limits
    }

    /// Carries out one interaction and records its AuditEvent (and one for
    /// each access the decision point refused on the way). The interaction
    /// first pays its cost ([`cost::cost`]) to its tenant's and client's rate
    /// limits; when they are spent it is refused 429 (RFC 6585 section 4)
    /// before anything is done, and audited like any failure.
    pub async fn run(&self, i: Interaction) -> Result<Outcome, FhirError> {
        self.run_as(i, true).await
    }

    /// [`Engine::run`] without the rate limits: for the operator's own entry
    /// points (`fhirgate import` straight into the database). HL7 messages
    /// reach the engine through [`Engine::apply_bundle_in`], after the
    /// listener has waited for their tokens (hl7/ingest.rs).
    pub async fn run_unmetered(&self, i: Interaction) -> Result<Outcome, FhirError> {
        self.run_as(i, false).await
    }

    /// The rate limits of `i`'s tenant and client (the token's `client_id`;
    /// none: the tenant's bucket only).
    fn admit(&self, i: &Interaction) -> Result<(), FhirError> {
        let client = i.principal.actor().and_then(|a| a.client_id.as_deref());
        self.limiter
            .try_take(&i.tenant, client, cost::cost(&i.request))
            .map_err(|wait| FhirError::TooManyRequests(retry_after_secs(wait)))
    }

    async fn run_as(&self, i: Interaction, metered: bool) -> Result<Outcome, FhirError> {
        // An engine whose database is bound to a tenant (fhir/tenancy.rs)
        // serves that tenant only: row-level security would refuse the rows
        // anyway, but a mix-up is a bug to see, not an empty answer.
        if self.db.tenant().is_some_and(|t| *t != i.tenant) {
            return Err(FhirError::Internal(format!(
                "an interaction for tenant {} reached another tenant's engine",
                i.tenant
            )));
        }
        let admitted = if metered { self.admit(&i) } else { Ok(()) };
        let mut record = AuditRecord::new(i.request.code());
        record.client_addr = i.origin.client_addr.clone();
        record.server_addr = i.origin.server_addr.clone();
        if let Some(actor) = i.principal.actor() {
            record.user = actor.user.clone();
            record.client_id = actor.client_id.clone();
        }
        record.resource_type = i.request.rtype().map(|t| t.as_str().to_owned());
        record.id = i.request.id().map(|id| id.to_string());
        let svc = Services::new(
            self.keyring.clone(),
            self.model.clone(),
            i.tenant,
            i.principal,
        );
        let result = match admitted {
            Ok(()) => self.dispatch(&svc, &i.base, i.request, &mut record).await,
            Err(e) => Err(e),
        };
        record.status = match &result {
            Ok(o) => o.audit_status(),
            Err(e) => e.status().as_u16(),
        };
        self.finish(&svc, record).await;
        result
    }

    async fn dispatch(
        &self,
        svc: &Services,
        base: &str,
        request: Request,
        record: &mut AuditRecord,
    ) -> Result<Outcome, FhirError> {
        match request {
            Request::Capabilities => {
                let cs = super::capability::capability_statement(&self.model.registry, base);
                serde_json::to_vec(&cs)
                    .map(Outcome::Document)
                    .map_err(|e| FhirError::Internal(e.to_string()))
            }
            Request::Read {
                rtype,
                id,
                preconditions,
            } => self.read(svc, rtype, id, None, preconditions, record).await,
            Request::Vread { rtype, id, version } => {
                let none = ReadPreconditions::default();
                self.read(svc, rtype, id, Some(version), none, record).await
            }
            Request::Create {
                rtype,
                resource,
                if_none_exist,
            } => {
                self.create(svc, rtype, resource, if_none_exist, record)
                    .await
            }
            Request::Update {
                rtype,
                id,
                resource,
                if_match,
            } => {
                self.update(svc, rtype, id, resource, if_match, record)
                    .await
            }
            Request::ConditionalUpdate {
                rtype,
                query,
                raw,
                resource,
                if_match,
            } => {
                record.query = Some(raw);
                self.conditional_update(svc, rtype, query, resource, if_match, record)
                    .await
            }
            Request::Patch {
                rtype,
                id,
                patch,
                if_match,
            } => self.patch(svc, rtype, id, patch, if_match, record).await,
            Request::Delete { rtype, id } => self.delete(svc, rtype, id, record).await,
            Request::ConditionalDelete { rtype, query, raw } => {
                record.query = Some(raw);
                self.conditional_delete(svc, rtype, query, record).await
            }
            Request::History { level, query, raw } => {
                self.history(svc, base, level, query, raw).await
            }
            Request::Search {
                rtype,
                query,
                strict,
            } => self.search(svc, base, rtype, query, strict, record).await,
            Request::Bundle { bundle } => self.bundle(svc, base, bundle, record).await,
            Request::Everything { patient, query } => {
                self.everything(svc, base, patient, query, record).await
            }
        }
    }

    /// Queues `record` unless its write already committed it, and one
    /// AuditEvent per refused access (outcome: 403, the resource as entity).
    async fn finish(&self, svc: &Services, record: AuditRecord) {
        for r in svc.refusals().take() {
            let mut refused = AuditRecord::new(record.interaction);
            refused.client_addr = record.client_addr.clone();
            refused.server_addr = record.server_addr.clone();
            refused.user = record.user.clone();
            refused.client_id = record.client_id.clone();
            refused.resource_type = Some(r.rtype.as_str().to_owned());
            refused.id = r.id.map(|id| id.to_string());
            refused.status = 403;
            self.audit.record(refused).await;
        }
        if !record.stored {
            self.store_record(record).await;
        }
    }

    /// Audits an interaction that failed before it could be handed over
    /// (a malformed request: the adapter could not build an [`Interaction`]).
    pub async fn record_unparsed(&self, record: AuditRecord) {
        if !record.stored {
            self.store_record(record).await;
        }
    }

    /// Queues `record`; a refusal over the rate limits goes through the
    /// tally, which records the first of a run and counts the rest
    /// (audit/refusals.rs).
    async fn store_record(&self, record: AuditRecord) {
        if record.status != 429 {
            return self.audit.record(record).await;
        }
        for r in self.refusals.note(record) {
            self.audit.record(r).await;
        }
    }

    /// Records the counts of the refusals' windows that are over (all of
    /// them when `all`: at shutdown).
    pub async fn close_refusals(&self, all: bool) {
        for r in self.refusals.close(all) {
            self.audit.record(r).await;
        }
    }

    /// How long until `tenant` may make a request of `interaction` with
    /// `query` again, when it may not now: its bucket cannot pay the least
    /// such a request costs ([`cost::floor`]). Asked before the token is
    /// verified and the body read.
    pub fn tenant_refused(
        &self,
        tenant: &crate::tenant::TenantId,
        interaction: crate::audit::Interaction,
        query: &[(String, String)],
    ) -> Option<std::time::Duration> {
        self.limiter
            .tenant_wait(tenant, cost::floor(interaction, query))
    }

    /// Runs `f` in one database transaction with this interaction's services
    /// and audit record, and keeps what the write filled into the record. If
    /// the transaction fails, even at COMMIT, an AuditEvent inserted inside it
    /// is gone too, so the record is marked unstored and queued with the failure.
    async fn write_tx<T, F>(
        &self,
        svc: &Services,
        record: &mut AuditRecord,
        f: F,
    ) -> Result<T, FhirError>
    where
        F: FnOnce(&Services, &mut PgConnection, &mut AuditRecord) -> Result<T, FhirError>
            + Send
            + 'static,
        T: Send + 'static,
    {
        self.write(svc, record, true, f).await
    }

    /// [`Self::write_tx`] for a write whose one statement is the flush of what
    /// `f` stages: `f` may read (key lookups) but must write nothing itself.
    /// The flush is sent without BEGIN and COMMIT, because PostgreSQL runs a
    /// statement sent alone as its own transaction ("every individual
    /// statement has an implicit BEGIN and (if successful) COMMIT wrapped
    /// around it", https://www.postgresql.org/docs/15/tutorial-transactions.html):
    /// the same atomicity in one round trip instead of three. pgbench on this
    /// machine: BEGIN; INSERT; COMMIT ran at half the rate of the INSERT alone
    /// (docs/performance.md, session 7).
    async fn write_one<T, F>(
        &self,
        svc: &Services,
        record: &mut AuditRecord,
        f: F,
    ) -> Result<T, FhirError>
    where
        F: FnOnce(
                &Services,
                &mut PgConnection,
                &mut WriteSet,
                &mut AuditRecord,
            ) -> Result<T, FhirError>
            + Send
            + 'static,
        T: Send + 'static,
    {
        self.write(svc, record, false, move |svc, conn, audit| {
            let mut ws = WriteSet::default();
            let staged = f(svc, conn, &mut ws, audit)?;
            svc.flush(conn, &mut ws)?;
            Ok(staged)
        })
        .await
    }

    async fn write<T, F>(
        &self,
        svc: &Services,
        record: &mut AuditRecord,
        in_transaction: bool,
        f: F,
    ) -> Result<T, FhirError>
    where
        F: FnOnce(&Services, &mut PgConnection, &mut AuditRecord) -> Result<T, FhirError>
            + Send
            + 'static,
        T: Send + 'static,
    {
        use diesel::Connection;
        let svc = svc.clone();
        let mut audit = record.clone();
        let (result, audit) = self
            .db
            .run(move |conn| {
                let result = if in_transaction {
                    conn.transaction(|conn| f(&svc, conn, &mut audit))
                } else {
                    f(&svc, conn, &mut audit)
                };
                if result.is_err() {
                    audit.stored = false;
                }
                Ok::<_, FhirError>((result, audit))
            })
            .await?;
        *record = audit;
        result
    }

    /// Read-only database work with this interaction's services.
    async fn read_only<T, F>(&self, svc: &Services, f: F) -> Result<T, FhirError>
    where
        F: FnOnce(&Services, &mut PgConnection) -> Result<T, FhirError> + Send + 'static,
        T: Send + 'static,
    {
        let svc = svc.clone();
        self.db.read(move |conn| f(&svc, conn)).await
    }
}
