//! fhirgate: a FHIR R4 interoperability gateway over an encrypted, versioned
//! Postgres store.
//!
//! Layers, outermost first (docs/architecture.md has the picture):
//! - [`fhir`]: the HTTP API (actix-web): routing, content negotiation, the
//!   FHIR interactions, OperationOutcome errors.
//! - [`hl7`]: HL7 v2 over MLLP: listeners, ingest of each message as one FHIR
//!   transaction, the stored raw messages, ACKs.
//! - [`audit`]: an AuditEvent for every interaction.
//! - [`store`]: the diesel schema, repositories and the database bootstrap.
//! - [`crypto`]: envelope encryption and blind indexes.
#![forbid(unsafe_code)]

pub mod audit;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod fhir;
pub mod hl7;
pub mod import;
pub mod keys_cmd;
pub mod limits;
pub mod metrics;
pub mod model;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod tenant;
pub mod tls;
