//! create (http://hl7.org/fhir/R4/http.html#create) and conditional create
//! (http.html#ccreate: If-None-Exist; no match creates, one match is
//! answered as it is, several are 412).

use serde_json::{Map, Value};

use super::{writes_bookings, Current, Engine, Outcome, Query, Services, Written};
use crate::audit::AuditRecord;
use crate::fhir::error::FhirError;
use crate::fhir::search::{self, conditional_criteria};
use crate::model::{ResourceId, ResourceType};
use crate::store::resources;

enum Created {
    New(Written),
    Existing(resources::Version),
}

impl Engine {
    pub(super) async fn create(
        &self,
        svc: &Services,
        rtype: ResourceType,
        resource: Map<String, Value>,
        if_none_exist: Option<(String, Query)>,
        record: &mut AuditRecord,
    ) -> Result<Outcome, FhirError> {
        let condition = match if_none_exist {
            Some((raw, pairs)) => {
                record.query = Some(raw);
                let criteria = conditional_criteria(&self.model().registry, rtype, &pairs)?;
                Some((search::criteria_key(&svc.tenant, rtype, &pairs), criteria))
            }
            None => None,
        };
        if condition.is_none() && !writes_bookings(rtype) {
            let w = self
                .write_one(svc, record, move |svc, conn, ws, audit| {
                    svc.create_staged(conn, ws, rtype, ResourceId::generate(), resource, audit)
                })
                .await?;
            return Ok(written(rtype, w));
        }
        let created = self
            .write_tx(svc, record, move |svc, conn, audit| {
                if let Some((key, criteria)) = &condition {
                    search::lock_criteria(conn, key)?;
                    let ids = svc.find_ids(conn, rtype, criteria, 2)?;
                    match ids.as_slice() {
                        [] => {}
                        [one] => {
                            // The match is answered with its content: a read of it.
                            let v = svc.read(conn, rtype, one, None)?.ok_or_else(|| {
                                FhirError::Internal("matched resource vanished".into())
                            })?;
                            audit.id = Some(one.to_string());
                            audit.version = Some(v.version_id);
                            return Ok(Created::Existing(v));
                        }
                        _ => {
                            return Err(FhirError::PreconditionFailed(
                                "If-None-Exist criteria match more than one resource".into(),
                            ))
                        }
                    }
                }
                svc.create(conn, rtype, resource, audit).map(Created::New)
            })
            .await?;
        Ok(match created {
            Created::New(w) => written(rtype, w),
            Created::Existing(v) => Outcome::Matched(Current {
                rtype,
                id: v.id,
                version_id: v.version_id,
                last_updated: v.last_updated,
                body: v.body.map(|b| b.0).unwrap_or_default(),
            }),
        })
    }
}

/// The outcome of a write.
pub(super) fn written(rtype: ResourceType, w: Written) -> Outcome {
    Outcome::Written {
        created: w.created,
        current: Current {
            rtype,
            id: w.id,
            version_id: w.version_id,
            last_updated: w.last_updated,
            body: w.body,
        },
    }
}
