//! update (http://hl7.org/fhir/R4/http.html#update, with If-Match:
//! http.html#concurrency) and conditional update (http.html#cond-update).

use fhirgate_validate::IssueCode;
use serde_json::{Map, Value};

use super::create::written;
use super::{Engine, Outcome, Query, Services};
use crate::audit::AuditRecord;
use crate::fhir::error::FhirError;
use crate::fhir::search::{self, conditional_criteria};
use crate::model::{ResourceId, ResourceType};

impl Engine {
    pub(super) async fn update(
        &self,
        svc: &Services,
        rtype: ResourceType,
        id: ResourceId,
        resource: Map<String, Value>,
        if_match: Option<i32>,
        record: &mut AuditRecord,
    ) -> Result<Outcome, FhirError> {
        let w = self
            .write_tx(svc, record, move |svc, conn, audit| {
                svc.update(conn, rtype, &id, resource, if_match, audit)
            })
            .await?;
        Ok(written(rtype, w))
    }

    /// No match creates (with the body's id if it has one), one match is
    /// updated, several are 412.
    pub(super) async fn conditional_update(
        &self,
        svc: &Services,
        rtype: ResourceType,
        query: Query,
        resource: Map<String, Value>,
        if_match: Option<i32>,
        record: &mut AuditRecord,
    ) -> Result<Outcome, FhirError> {
        let body_id = resource
            .get("id")
            .and_then(|v| v.as_str())
            .and_then(ResourceId::parse);
        let criteria = conditional_criteria(&self.model().registry, rtype, &query)?;
        let key = search::criteria_key(&svc.tenant, rtype, &query);
        let w = self
            .write_tx(svc, record, move |svc, conn, audit| {
                search::lock_criteria(conn, &key)?;
                let ids = svc.find_ids(conn, rtype, &criteria, 2)?;
                match (ids.as_slice(), body_id) {
                    ([], None) => svc.create(conn, rtype, resource, audit),
                    ([], Some(id)) => svc.update(conn, rtype, &id, resource, if_match, audit),
                    ([one], Some(id)) if *one != id => Err(FhirError::invalid(
                        IssueCode::Invalid,
                        Some(&format!("{rtype}.id")),
                        "the body's id differs from the id of the resource the criteria match",
                    )),
                    ([one], _) => {
                        let mut resource = resource;
                        resource.insert("id".into(), one.as_str().into());
                        svc.update(conn, rtype, one, resource, if_match, audit)
                    }
                    _ => Err(FhirError::PreconditionFailed(
                        "the criteria match more than one resource".into(),
                    )),
                }
            })
            .await?;
        Ok(written(rtype, w))
    }
}
