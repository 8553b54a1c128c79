//! delete (http://hl7.org/fhir/R4/http.html#delete) and conditional delete
//! (http.html#3.1.0.7.1: one match is deleted; several get 412, this server
//! does not delete multiple; none is not an error).

use super::{Engine, Outcome, Query, Services};
use crate::audit::AuditRecord;
use crate::fhir::error::FhirError;
use crate::fhir::search::conditional_criteria;
use crate::model::{ResourceId, ResourceType};

impl Engine {
    pub(super) async fn delete(
        &self,
        svc: &Services,
        rtype: ResourceType,
        id: ResourceId,
        record: &mut AuditRecord,
    ) -> Result<Outcome, FhirError> {
        let version_id = self
            .write_tx(svc, record, move |svc, conn, audit| {
                svc.delete(conn, rtype, &id, audit)
            })
            .await?;
        Ok(Outcome::Deleted { version_id })
    }

    pub(super) async fn conditional_delete(
        &self,
        svc: &Services,
        rtype: ResourceType,
        query: Query,
        record: &mut AuditRecord,
    ) -> Result<Outcome, FhirError> {
        let criteria = conditional_criteria(&self.model().registry, rtype, &query)?;
        let ids = self
            .read_only(svc, move |svc, conn| {
                svc.find_ids(conn, rtype, &criteria, 2)
            })
            .await?;
        match ids.as_slice() {
            [] => Ok(Outcome::Deleted { version_id: None }),
            [one] => {
                record.id = Some(one.to_string());
                self.delete(svc, rtype, one.clone(), record).await
            }
            _ => Err(FhirError::PreconditionFailed(
                "the criteria match more than one resource".into(),
            )),
        }
    }
}
