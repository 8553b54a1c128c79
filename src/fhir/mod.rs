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

use fhirgate_search::Registry;
use fhirgate_validate::{Invariants, Validator};

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
    /// Time for a request body to arrive (`resource::read_body`).
    pub body_timeout: std::time::Duration,
    /// JSON values per resource (`fhirgate_validate::parse_json_with`).
    pub max_json_nodes: usize,
    /// Bytes of request bodies read and parsed at once (`crate::limits::budget`).
    pub parse_budget: Arc<crate::limits::budget::ParseBudget>,
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// The compiled FHIR knowledge: validators, the R4 invariants and search parameters. Built
/// once per process (it takes a moment), shared by every server in it.
pub struct FhirModel {
    pub validator: Validator,
    pub invariants: Invariants,
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
        // Every FHIRPath expression of the invariants is compiled here, once.
        let invariants =
            Invariants::load().map_err(|e| anyhow::anyhow!("compiling the R4 invariants: {e}"))?;
        if let Some(t) = served
            .iter()
            .find(|t| !invariants.served().iter().any(|s| s == *t))
        {
            anyhow::bail!("schemas/r4-elements.json has no definitions for {t}: regenerate it");
        }
        Ok(Self {
            validator,
            invariants,
            registry,
        })
    }
}
