//! PATCH entries of a transaction or batch (http://hl7.org/fhir/R4/http.html#transaction):
//! the entry's resource is a Binary holding a JSON Patch or a Parameters
//! FHIRPath Patch; it is applied in step 3 of http.html#trules together with the
//! PUTs, honouring `ifMatch`, through the same code as `PATCH [type]/[id]`
//! (`fhir::patch::patch_current`), so a result that is not valid R4 is 422.

use std::collections::HashMap;

use diesel::PgConnection;

use super::exec::{Answer, Env};
use super::refs::rewrite;
use super::request::{Request, Target};
use crate::audit::Interaction;
use crate::fhir::error::FhirError;
use crate::fhir::patch::patch_current;
use crate::fhir::service::{bad_if_match, parse_etag};
use crate::model::ResourceId;

impl Env<'_> {
    /// The resource a PATCH names: `Type/id`, or the one match of `Type?query`
    /// (http.html#patch: conditional patch; none is 404, several 412).
    pub(super) fn patch_target(
        &self,
        conn: &mut PgConnection,
        r: &Request,
    ) -> Result<ResourceId, FhirError> {
        let rtype = r.target.rtype();
        match &r.target {
            Target::Instance(_, id) => Ok(id.clone()),
            Target::Search(_, q) => match self.find(conn, rtype, q)?.as_slice() {
                [one] => Ok(one.clone()),
                [] => Err(FhirError::NotFound(
                    "the conditional patch matches no resource".into(),
                )),
                _ => Err(FhirError::PreconditionFailed(
                    "the conditional patch matches more than one resource".into(),
                )),
            },
            Target::Type(_) => Err(FhirError::MethodNotAllowed(
                "PATCH needs Type/id or Type?query".into(),
            )),
        }
    }

    /// Applies the entry's patch to `id`; references in the result to other
    /// entries' fullUrls are rewritten like those of a PUT (http.html#trules).
    pub(super) fn patch(
        &self,
        conn: &mut PgConnection,
        r: &Request,
        id: &ResourceId,
        mapped: &HashMap<String, String>,
    ) -> Result<Answer, FhirError> {
        let rtype = r.target.rtype();
        let doc = r
            .patch
            .as_ref()
            .ok_or_else(|| FhirError::Internal("a PATCH entry without its patch".into()))?;
        let if_match = match &r.if_match {
            Some(m) => Some(parse_etag(m).ok_or_else(|| bad_if_match(m))?),
            None => None,
        };
        let mut audit = self.audit(Interaction::Patch, rtype);
        // Conditional references are not resolved here: a patch value names
        // entries of this Bundle or stored resources directly.
        let mut fixup = |v: &mut serde_json::Value| {
            rewrite(v, mapped, &mut |t, q| {
                Err(FhirError::invalid(
                    fhirgate_validate::IssueCode::NotSupported,
                    None,
                    format!("a conditional reference ({t}?{q}) in a PATCH value is not supported"),
                ))
            })
        };
        let w = patch_current(
            self.svc, conn, rtype, id, if_match, doc, &mut fixup, &mut audit,
        )?;
        Ok(Self::written(
            rtype,
            &w.id,
            w.version_id,
            200,
            w.last_updated,
        ))
    }
}
