//! GET entries of a transaction or batch: a read of `Type/id`, or a search.
//! A read honours the entry's `request.ifNoneMatch` and `ifModifiedSince`
//! (bundle.html, Bundle.entry.request) as a conditional read over HTTP does
//! (http.html#cread): "304 Not Modified" and no resource when unchanged.

use diesel::PgConnection;

use super::exec::{Answer, Env};
use super::request::{Request, Target};
use crate::audit::Interaction;
use crate::fhir::error::FhirError;
use crate::fhir::preconditions::etag;
use crate::fhir::preconditions::not_modified;
use crate::fhir::resource::instant;
use crate::fhir::search::bundle as sb;
use crate::model::{ResourceId, ResourceType};

impl Env<'_> {
    pub(super) fn get(&self, conn: &mut PgConnection, r: &Request) -> Result<Answer, FhirError> {
        let rtype = r.target.rtype();
        match &r.target {
            Target::Instance(_, id) => self.read(conn, r, rtype, id),
            Target::Search(..) | Target::Type(_) => {
                let q = match &r.target {
                    Target::Search(_, q) => q.clone(),
                    _ => Vec::new(),
                };
                let mut audit = self.audit(Interaction::SearchType, rtype);
                audit.query = Some(serde_urlencoded::to_string(&q).unwrap_or_default());
                let p = sb::prepare(&self.svc.model.registry, rtype, &q, false)?;
                let bundle = self.svc.search_bundle(conn, self.base, rtype, &q, &p)?;
                audit.status = 200;
                self.svc.commit_audit(conn, &mut audit)?;
                Ok(Answer {
                    status: 200,
                    resource: Some(bundle),
                    ..Answer::default()
                })
            }
        }
    }

    fn read(
        &self,
        conn: &mut PgConnection,
        r: &Request,
        rtype: ResourceType,
        id: &ResourceId,
    ) -> Result<Answer, FhirError> {
        let mut audit = self.audit(Interaction::Read, rtype);
        audit.id = Some(id.to_string());
        let v = self.svc.read(conn, rtype, id, None)?;
        let answer = match v {
            Some(v) => match v.body {
                Some(b) => {
                    // lastModified and ifModifiedSince are both instants (to the
                    // millisecond here), so they are compared as they are.
                    let unchanged = not_modified(
                        r.if_none_match.as_deref(),
                        r.if_modified_since,
                        v.version_id,
                        v.last_updated,
                    );
                    Ok(Answer {
                        status: if unchanged { 304 } else { 200 },
                        etag: Some(etag(v.version_id)),
                        last_modified: Some(instant(v.last_updated)),
                        resource: (!unchanged).then_some(b.0),
                        ..Answer::default()
                    })
                }
                None => Err(FhirError::Gone(format!("{rtype}/{id} was deleted"))),
            },
            None => Err(FhirError::NotFound(format!("{rtype}/{id} does not exist"))),
        };
        audit.status = answer
            .as_ref()
            .map_or_else(|e| e.status().as_u16(), |a| a.status);
        self.svc.commit_audit(conn, &mut audit)?;
        answer
    }
}
