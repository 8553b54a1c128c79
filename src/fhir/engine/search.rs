//! search (http://hl7.org/fhir/R4/http.html#search, search.html): the search
//! and every type its chains and `_has` reach are decided first; each match
//! and each `_include`d/`_revinclude`d resource passes the decision point as
//! it is read (`Services::bodies`), so the searchset holds only what the
//! principal may read.

use std::sync::Arc;

use diesel::PgConnection;

use super::reads::Bodies;
use super::{Engine, Outcome, Query, Services};
use crate::audit::AuditRecord;
use crate::crypto::BlindIndexer;
use crate::fhir::error::FhirError;
use crate::fhir::search::bundle::{self as sb, Reader};
use crate::model::{ResourceId, ResourceType};
use crate::store::Unreadable;
use crate::tenant::TenantId;

impl Reader for Services {
    fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    fn indexer(&self, conn: &mut PgConnection) -> Result<Arc<BlindIndexer>, FhirError> {
        Ok(self.keyring.indexer(conn, self.tenant.as_str())?)
    }

    fn bodies(
        &self,
        conn: &mut PgConnection,
        rtype: ResourceType,
        ids: &[ResourceId],
        skipped: &mut Vec<Unreadable>,
    ) -> Result<Bodies, FhirError> {
        Services::bodies(self, conn, rtype, ids, skipped)
    }

    fn confinement(&self) -> Option<crate::fhir::search::Confinement> {
        Services::confinement(self, super::access::Action::Search)
    }
}

impl Services {
    /// A search on `conn`: decided (its type and every type its chains and
    /// `_has` reach), then run, each body read through the decision point.
    pub fn search(
        &self,
        conn: &mut PgConnection,
        base: &str,
        rtype: ResourceType,
        prepared: &sb::Prepared,
    ) -> Result<sb::Found, FhirError> {
        self.decide_search(rtype, &prepared.criteria)?;
        sb::execute(conn, self, rtype, base, prepared)
    }

    /// A whole search on `conn`, assembled into the searchset (a Bundle's GET entry).
    pub fn search_bundle(
        &self,
        conn: &mut PgConnection,
        base: &str,
        rtype: ResourceType,
        query: &Query,
        prepared: &sb::Prepared,
    ) -> Result<Vec<u8>, FhirError> {
        let found = self.search(conn, base, rtype, prepared)?;
        sb::assemble(base, rtype, query, prepared, found)?.to_json()
    }
}

impl Engine {
    pub(super) async fn search(
        &self,
        svc: &Services,
        base: &str,
        rtype: ResourceType,
        query: Query,
        strict: bool,
        record: &mut AuditRecord,
    ) -> Result<Outcome, FhirError> {
        record.query = Some(serde_urlencoded::to_string(&query).unwrap_or_default());
        let prepared = sb::prepare(&self.model().registry, rtype, &query, strict)?;
        let base2 = base.to_owned();
        // The Bundle is assembled after the connection is given back.
        let (prepared, found) = self
            .read_only(svc, move |svc, conn| {
                let found = svc.search(conn, &base2, rtype, &prepared)?;
                Ok((prepared, found))
            })
            .await?;
        let bundle = sb::assemble(base, rtype, &query, &prepared, found)?;
        Ok(Outcome::Document(bundle.to_json()?))
    }
}
