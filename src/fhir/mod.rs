//! The FHIR R4 HTTP API under `/fhir` (http://hl7.org/fhir/R4/http.html).

pub mod base;
pub mod bundle;
pub mod capability;
pub mod context;
pub mod engine;
pub mod error;
pub mod format;
pub mod handlers;
pub mod patch;
pub mod preconditions;
pub mod resource;
pub mod rules;
pub mod search;
pub mod tenancy;

use std::sync::Arc;

use fhirgate_search::Registry;
use fhirgate_validate::{Invariants, Validator};

use crate::tenant::TenantId;

/// Everything a request handler needs, shared by all workers: the engine,
/// and what is HTTP's own (base URL rules, body limits and timeouts).
pub struct AppState {
    pub engine: Arc<engine::Engine>,
    /// The tenant requests act for (one today; per-tenant bases later).
    pub tenant: TenantId,
    /// Who work without a bearer token acts as: HL7 v2 messages (their
    /// sender is authenticated by the MLLP listener) and `fhirgate import`
    /// straight into the database.
    pub principal: engine::Principal,
    /// The built-in authorization server's issuer: verifies every FHIR
    /// request's bearer token (issue #17).
    pub authority: Arc<crate::auth::Authority>,
    /// Every HTTP request acts as this principal instead of its token's:
    /// only the tests of the decision point and `--insecure-no-auth`.
    pub fixed_principal: Option<engine::Principal>,
    pub base: base::BaseUrl,
    pub max_body: usize,
    /// Time for a request body to arrive (`handlers::body::read_body`).
    pub body_timeout: std::time::Duration,
    /// JSON values per resource (`fhirgate_validate::parse_json_with`).
    pub max_json_nodes: usize,
    /// Bytes of request bodies read and parsed at once (`crate::limits::budget`).
    pub parse_budget: Arc<crate::limits::budget::ParseBudget>,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// This tenant's own counters (labelled by tenant in /metrics).
    pub tenant_metrics: Arc<crate::metrics::tenants::TenantCounters>,
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
        let served = crate::model::ResourceType::ALL.map(crate::model::ResourceType::as_str);
        // Beside the served types, what requests carry and answers are made of.
        let mut types = served.to_vec();
        types.extend(["Bundle", "Parameters", "OperationOutcome"]);
        let validator =
            Validator::new(&types).map_err(|e| anyhow::anyhow!("compiling the R4 schema: {e}"))?;
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
