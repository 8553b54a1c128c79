//! PATCH entries of a transaction or batch (http://hl7.org/fhir/R4/http.html#transaction):
//! the entry's resource is a Binary holding a JSON Patch or a Parameters
//! FHIRPath Patch; it is applied in step 3 of http.html#trules together with the
//! PUTs, honouring `ifMatch`, through the same code as `PATCH [type]/[id]`
//! (`fhir::patch::patch_current`), so a result that is not valid R4 is 422.

use diesel::PgConnection;

use super::exec::{Answer, Env};
use super::links::{Links, Mapped};
use super::refs::Lookup;
use super::request::{Request, Target};
use crate::audit::Interaction;
use crate::fhir::engine::patch::patch_current;
use crate::fhir::error::FhirError;
use crate::fhir::preconditions::{bad_if_match, parse_etag};
use crate::model::{ResourceId, ResourceType};

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
        links: &Links,
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
        let is_type = |t: &str| self.svc.model.validator.is_resource_type(t);
        let rewrite = self.rewrite(r, links, &is_type);
        let mut fixup = |v: &mut serde_json::Value| rewrite.apply(&mut NoLookups, rtype, v);
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

/// A patch is applied under the row lock of `patch_current`, which holds the
/// connection: a patch value names entries of this Bundle or stored resources
/// directly, and what would need the database here is refused.
struct NoLookups;

fn unsupported(what: String) -> FhirError {
    FhirError::invalid(
        fhirgate_validate::IssueCode::NotSupported,
        None,
        format!("{what} in a PATCH value is not supported"),
    )
}

impl Lookup for NoLookups {
    fn conditional(&mut self, t: ResourceType, q: &str) -> Result<String, FhirError> {
        Err(unsupported(format!("a conditional reference ({t}?{q})")))
    }

    fn next_version(&mut self, m: &Mapped) -> Result<i32, FhirError> {
        Err(unsupported(format!(
            "a version-specific reference to {}/{}, which this transaction updates,",
            m.rtype, m.id
        )))
    }
}
