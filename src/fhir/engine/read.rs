//! read and vread (http://hl7.org/fhir/R4/http.html#read, #vread), with the
//! conditional read of http.html#cread.

use super::{Current, Engine, Outcome, ReadPreconditions, Services};
use crate::audit::{patient_refs, AuditRecord};
use crate::fhir::error::FhirError;
use crate::fhir::preconditions::{not_modified, whole_seconds};
use crate::model::{ResourceId, ResourceType};
use crate::store::resources::Version;

impl Engine {
    pub(super) async fn read(
        &self,
        svc: &Services,
        rtype: ResourceType,
        id: ResourceId,
        version: Option<i32>,
        pre: ReadPreconditions,
        record: &mut AuditRecord,
    ) -> Result<Outcome, FhirError> {
        let id2 = id.clone();
        let found: Option<Version> = if version.is_none()
            && self.db.tenant() == Some(&svc.tenant)
            && svc.read_current_alone(rtype)
        {
            // One round trip: the read sets its handle's tenant itself
            // (store/tenant_reads.rs), which must be the one its session is
            // then taken to be set to; a handle bound to no tenant reads as before.
            let svc = svc.clone();
            self.db
                .read_setting_tenant(move |conn| svc.read_current_setting_tenant(conn, rtype, &id2))
                .await?
        } else {
            self.read_only(svc, move |svc, conn| svc.read(conn, rtype, &id2, version))
                .await?
        };
        let Some(found) = found else {
            return Err(FhirError::NotFound(match version {
                None => format!("{rtype}/{id} does not exist"),
                Some(v) => format!("{rtype}/{id} has no version {v}"),
            }));
        };
        record.version = Some(found.version_id);
        let Some(body) = found.body else {
            return Err(FhirError::Gone(format!(
                "{rtype}/{id} was deleted (version {})",
                found.version_id
            )));
        };
        record.patients = match rtype.descriptor().own_patient(id.as_str()) {
            Some(own) => vec![own],
            None => serde_json::from_slice(&body.0)
                .map(|v| patient_refs(rtype.as_str(), None, &v))
                .unwrap_or_default(),
        };
        // http.html#cread: a read (not a vread) honours If-None-Match and
        // If-Modified-Since. The Last-Modified sent is cut to whole seconds, so
        // the date a client sends back is compared with the time cut the same way.
        let unchanged = not_modified(
            pre.if_none_match.as_deref(),
            pre.if_modified_since,
            found.version_id,
            whole_seconds(found.last_updated),
        );
        if version.is_none() && unchanged {
            return Ok(Outcome::NotModified {
                version_id: found.version_id,
            });
        }
        Ok(Outcome::Read(Current {
            rtype,
            id,
            version_id: found.version_id,
            last_updated: found.last_updated,
            body: body.0,
        }))
    }
}
