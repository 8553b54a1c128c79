//! The FHIR R4 HTTP API under `/fhir` (http://hl7.org/fhir/R4/http.html).

pub mod base;
pub mod booking;
pub mod bundle;
pub mod capability;
pub mod context;
pub mod error;
pub mod everything;
pub mod format;
pub mod handlers;
pub mod history;
pub mod patch;
pub mod resource;
pub mod rules;
pub mod search;
pub mod service;
pub mod transaction;

use std::sync::Arc;

use actix_web::web;
use fhirgate_search::Registry;
use fhirgate_validate::Validator;

use crate::audit::AuditSink;
use crate::crypto::Keyring;
use crate::store::Db;
use crate::tenant::TenantId;

/// Everything a request handler needs, shared by all workers.
pub struct AppState {
    pub db: Db,
    pub keyring: Arc<Keyring>,
    pub model: Arc<FhirModel>,
    pub audit: AuditSink,
    pub tenant: TenantId,
    pub base: base::BaseUrl,
    pub max_body: usize,
    pub max_bundle_entries: usize,
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// The compiled FHIR knowledge: validators and search parameters. Built once per
/// process (it takes a moment), shared by every server in it.
pub struct FhirModel {
    pub validator: Validator,
    pub registry: Registry,
}

impl FhirModel {
    pub fn load() -> anyhow::Result<Self> {
        let mut types: Vec<&str> = crate::model::ResourceType::ALL
            .iter()
            .map(|t| t.as_str())
            .collect();
        types.extend(["Bundle", "Parameters", "OperationOutcome"]);
        let validator =
            Validator::new(&types).map_err(|e| anyhow::anyhow!("compiling the R4 schema: {e}"))?;
        let served: Vec<&str> = crate::model::ResourceType::ALL
            .iter()
            .map(|t| t.as_str())
            .collect();
        let registry =
            Registry::r4(&served).map_err(|e| anyhow::anyhow!("loading search parameters: {e}"))?;
        Ok(Self {
            validator,
            registry,
        })
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    handlers::configure(cfg);
}
