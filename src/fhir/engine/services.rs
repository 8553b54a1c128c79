//! The write interactions as single database transactions: version row, current
//! pointer, search-index rows, appointment bookings and the AuditEvent commit or
//! fail together (http://hl7.org/fhir/R4/http.html#create, #update, #delete).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use serde_json::{Map, Value};

use super::access::{Access, Action, Principal, Refusal, Refusals};
use crate::audit::{self, patient_refs, AuditRecord};
use crate::crypto::Keyring;
use crate::fhir::error::FhirError;
use crate::fhir::resource::{finalize, now_ms};
use crate::fhir::FhirModel;
use crate::model::{ResourceId, ResourceType};
use crate::store::resources::{self, Method};
use crate::store::writes::WriteSet;
use crate::store::{bookings, index};
use crate::tenant::TenantId;

/// One interaction's view of the data: its tenant, its principal and the
/// services every access goes through (cheap to clone into a blocking
/// closure). Built only by the engine ([`super::Engine`]); every read, search
/// and write below it asks [`Services::decide`] first.
#[derive(Clone)]
pub struct Services {
    pub keyring: Arc<Keyring>,
    pub model: Arc<FhirModel>,
    pub tenant: TenantId,
    principal: Principal,
    refusals: Refusals,
}

pub struct Written {
    pub id: ResourceId,
    pub version_id: i32,
    pub last_updated: DateTime<Utc>,
    pub body: Vec<u8>,
    /// True when this write brought the resource into existence (201 rather than 200).
    pub created: bool,
}

/// Whether a write of `rtype` also maintains `appointment_bookings` (with
/// statements of its own, after its practitioners' locks: store/bookings.rs).
/// A create that does not only stages rows in its WriteSet, so it can be sent
/// as one statement (`Engine::write_one`).
pub fn writes_bookings(rtype: ResourceType) -> bool {
    rtype.descriptor().writes_bookings()
}

impl Services {
    pub(super) fn new(
        keyring: Arc<Keyring>,
        model: Arc<FhirModel>,
        tenant: TenantId,
        principal: Principal,
    ) -> Self {
        Self {
            keyring,
            model,
            tenant,
            principal,
            refusals: Refusals::default(),
        }
    }

    pub(super) fn refusals(&self) -> &Refusals {
        &self.refusals
    }

    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// THE decision point (access.rs): Ok when the principal may make the
    /// access, else the refusal is noted for its AuditEvent and answered 403.
    pub fn decide(
        &self,
        action: Action,
        rtype: ResourceType,
        id: Option<&ResourceId>,
    ) -> Result<(), FhirError> {
        if self.permits(action, rtype, id) {
            return Ok(());
        }
        Err(FhirError::Forbidden(match id {
            Some(id) => format!("{action:?} of {rtype}/{id} is not permitted"),
            None => format!("{action:?} of {rtype} resources is not permitted"),
        }))
    }

    /// [`Self::decide`] as a filter: false (and noted) when refused.
    pub fn permits(&self, action: Action, rtype: ResourceType, id: Option<&ResourceId>) -> bool {
        if self.principal.permits_all() {
            return true;
        }
        let ok = self.principal.permits(&Access { action, rtype, id });
        if !ok {
            self.refusals.push(Refusal {
                action,
                rtype,
                id: id.cloned(),
            });
        }
        ok
    }

    /// Index, bookings and audit for a version just staged in `ws`.
    /// `audit.status` must already hold the status the write will answer with.
    #[allow(clippy::too_many_arguments)]
    fn after_write(
        &self,
        conn: &mut PgConnection,
        ws: &mut WriteSet,
        rtype: ResourceType,
        id: &ResourceId,
        resource: &Value,
        fresh: bool,
        audit: &mut AuditRecord,
    ) -> Result<(), FhirError> {
        let entries = self.model.registry.extract(rtype.as_str(), resource);
        let indexer = self.keyring.indexer(conn, self.tenant.as_str())?;
        if !fresh {
            index::delete(conn, &self.tenant, rtype.as_str(), id)?;
        }
        ws.index(&indexer, rtype, id, &entries);
        if writes_bookings(rtype) {
            let slots = rtype.descriptor().slots(resource);
            bookings::replace(conn, &self.tenant, id, &slots).map_err(|e| {
                // A deadlock here is two bookings of one slot waiting on each
                // other; PostgreSQL aborts one, and that one overlaps the other.
                if e.is_exclusion_violation() || e.is_deadlock() {
                    FhirError::BusinessRule(
                        "the appointment overlaps another booked, arrived or checked-in appointment of the same practitioner".into(),
                    )
                } else {
                    e.into()
                }
            })?;
        }
        audit.patients = patient_refs(rtype.as_str(), Some(id.as_str()), resource);
        self.stage_audit(conn, ws, audit)
    }

    /// Adds `audit` to `ws`, to commit with the change it records.
    fn stage_audit(
        &self,
        conn: &mut PgConnection,
        ws: &mut WriteSet,
        audit: &mut AuditRecord,
    ) -> Result<(), FhirError> {
        ws.audit(audit::row_in_tx(
            conn,
            &self.keyring,
            &self.tenant,
            audit,
            now_ms(),
        )?);
        audit.stored = true;
        Ok(())
    }

    /// Commits `audit` in the caller's transaction (reads inside a transaction).
    pub fn commit_audit(
        &self,
        conn: &mut PgConnection,
        audit: &mut AuditRecord,
    ) -> Result<(), FhirError> {
        let mut ws = WriteSet::default();
        self.stage_audit(conn, &mut ws, audit)?;
        self.flush(conn, &mut ws)
    }

    /// Sends what `ws` holds (one statement).
    pub fn flush(&self, conn: &mut PgConnection, ws: &mut WriteSet) -> Result<(), FhirError> {
        Ok(ws.flush(conn, &self.keyring, &self.tenant)?)
    }

    /// create with a server-assigned id.
    pub fn create(
        &self,
        conn: &mut PgConnection,
        rtype: ResourceType,
        resource: Map<String, Value>,
        audit: &mut AuditRecord,
    ) -> Result<Written, FhirError> {
        self.create_as(conn, rtype, ResourceId::generate(), resource, audit)
    }

    /// create under an id the server generated beforehand (a transaction assigns
    /// ids before writing, so that entries can reference each other).
    pub fn create_as(
        &self,
        conn: &mut PgConnection,
        rtype: ResourceType,
        id: ResourceId,
        resource: Map<String, Value>,
        audit: &mut AuditRecord,
    ) -> Result<Written, FhirError> {
        let mut ws = WriteSet::default();
        let w = self.create_staged(conn, &mut ws, rtype, id, resource, audit)?;
        self.flush(conn, &mut ws)?;
        Ok(w)
    }

    /// [`Self::create_as`] with its rows left in `ws` for the caller to flush.
    pub fn create_staged(
        &self,
        conn: &mut PgConnection,
        ws: &mut WriteSet,
        rtype: ResourceType,
        id: ResourceId,
        resource: Map<String, Value>,
        audit: &mut AuditRecord,
    ) -> Result<Written, FhirError> {
        self.decide(Action::Create, rtype, Some(&id))?;
        let now = now_ms();
        let (value, body) = finalize(resource, &id, 1, now)?;
        if !self.principal.permits_all() {
            self.admit_body(Action::Create, rtype, &id, &value)?;
        }
        ws.version(
            conn,
            &self.keyring,
            &self.tenant,
            rtype,
            &id,
            1,
            now,
            Method::Post,
            Some(&body),
        )?;
        audit.id = Some(id.to_string());
        audit.version = Some(1);
        audit.status = 201;
        self.after_write(conn, ws, rtype, &id, &value, true, audit)?;
        Ok(Written {
            id,
            version_id: 1,
            last_updated: now,
            body,
            created: true,
        })
    }

    /// update (or update-as-create) of `id`; `if_match` is the version the client
    /// last saw (http://hl7.org/fhir/R4/http.html#concurrency).
    pub fn update(
        &self,
        conn: &mut PgConnection,
        rtype: ResourceType,
        id: &ResourceId,
        resource: Map<String, Value>,
        if_match: Option<i32>,
        audit: &mut AuditRecord,
    ) -> Result<Written, FhirError> {
        self.update_by(conn, rtype, id, resource, if_match, Method::Put, audit)
    }

    /// update through `method` (PUT, or PATCH: history shows which).
    #[allow(clippy::too_many_arguments)]
    pub fn update_by(
        &self,
        conn: &mut PgConnection,
        rtype: ResourceType,
        id: &ResourceId,
        resource: Map<String, Value>,
        if_match: Option<i32>,
        method: Method,
        audit: &mut AuditRecord,
    ) -> Result<Written, FhirError> {
        let mut ws = WriteSet::default();
        let w = self.update_staged(
            conn, &mut ws, rtype, id, resource, if_match, method, false, audit,
        )?;
        self.flush(conn, &mut ws)?;
        Ok(w)
    }

    /// [`Self::update_by`] with its rows left in `ws` for the caller to flush.
    /// `fresh`: `id` was generated for this write, so there is no current row
    /// to lock (an update-as-create under a new server id).
    #[allow(clippy::too_many_arguments)]
    pub fn update_staged(
        &self,
        conn: &mut PgConnection,
        ws: &mut WriteSet,
        rtype: ResourceType,
        id: &ResourceId,
        resource: Map<String, Value>,
        if_match: Option<i32>,
        method: Method,
        fresh: bool,
        audit: &mut AuditRecord,
    ) -> Result<Written, FhirError> {
        self.decide(Action::Update, rtype, Some(id))?;
        if ws.has_version(rtype, id) {
            self.flush(conn, ws)?;
        }
        let current = if fresh {
            None
        } else {
            resources::lock_current(conn, &self.tenant, rtype, id)?
        };
        if let Some(expected) = if_match {
            match current {
                Some(c) if !c.deleted && c.version_id == expected => {}
                Some(c) if !c.deleted => {
                    return Err(FhirError::PreconditionFailed(format!(
                        "If-Match names version {expected}, but the current version is {}",
                        c.version_id
                    )))
                }
                _ => {
                    return Err(FhirError::PreconditionFailed(
                        "If-Match given, but the resource does not exist".into(),
                    ))
                }
            }
        }
        let version = current.map_or(1, |c| c.version_id + 1);
        let created = current.is_none_or(|c| c.deleted);
        if !created && !self.principal.permits_all() {
            self.confine_one(conn, Action::Update, rtype, id)?;
        }
        let now = now_ms();
        let (value, body) = finalize(resource, id, version, now)?;
        if !self.principal.permits_all() {
            self.admit_body(Action::Update, rtype, id, &value)?;
        }
        ws.version(
            conn,
            &self.keyring,
            &self.tenant,
            rtype,
            id,
            version,
            now,
            method,
            Some(&body),
        )?;
        audit.id = Some(id.to_string());
        audit.version = Some(version);
        audit.status = if created { 201 } else { 200 };
        self.after_write(conn, ws, rtype, id, &value, current.is_none(), audit)?;
        Ok(Written {
            id: id.clone(),
            version_id: version,
            last_updated: now,
            body,
            created,
        })
    }

    /// delete: a tombstone version. Ok(None) when it was already deleted (no new
    /// version: deleting twice changes nothing).
    pub fn delete(
        &self,
        conn: &mut PgConnection,
        rtype: ResourceType,
        id: &ResourceId,
        audit: &mut AuditRecord,
    ) -> Result<Option<i32>, FhirError> {
        audit.id = Some(id.to_string());
        self.decide(Action::Delete, rtype, Some(id))?;
        self.confine_one(conn, Action::Delete, rtype, id)?;
        let current = resources::lock_current(conn, &self.tenant, rtype, id)?;
        let Some(current) = current else {
            return Err(FhirError::NotFound(format!("{rtype}/{id} does not exist")));
        };
        audit.status = 204;
        if current.deleted {
            self.commit_audit(conn, audit)?;
            return Ok(None);
        }
        let version = current.version_id + 1;
        let mut ws = WriteSet::default();
        ws.version(
            conn,
            &self.keyring,
            &self.tenant,
            rtype,
            id,
            version,
            now_ms(),
            Method::Delete,
            None,
        )?;
        index::delete(conn, &self.tenant, rtype.as_str(), id)?;
        if writes_bookings(rtype) {
            bookings::delete(conn, &self.tenant, id)?;
        }
        if let Some(own) = rtype.descriptor().own_patient(id.as_str()) {
            audit.patients = vec![own];
        }
        audit.version = Some(version);
        self.stage_audit(conn, &mut ws, audit)?;
        self.flush(conn, &mut ws)?;
        Ok(Some(version))
    }
}
