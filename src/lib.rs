//! fhirgate: a FHIR R4 interoperability gateway over an encrypted, versioned
//! Postgres store.
//!
//! Layers, outermost first (docs/architecture.md has the picture):
//! - [`fhir`]: the HTTP API (actix-web): routing, content negotiation, the
//!   FHIR interactions, OperationOutcome errors.
//! - [`audit`]: an AuditEvent for every interaction.
//! - [`store`]: the diesel schema, repositories and the database bootstrap.
//! - [`crypto`]: envelope encryption and blind indexes.
#![forbid(unsafe_code)]

pub mod audit;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod fhir;
pub mod import;
pub mod keys_cmd;
pub mod model;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod tenant;
pub mod tls;
