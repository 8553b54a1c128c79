//! fhirgate: a FHIR R4 interoperability gateway over an encrypted, versioned
//! Postgres store.
//!
//! Layers, outermost first (docs/architecture.md has the table; tests/layers.rs
//! checks that no module imports a layer above its own):
//! - [`startup`], [`cli`], [`keys_cmd`], [`auth_cmd`]: the commands and the actix server.
//! - [`fhir::handlers`] (the HTTP API, actix-web), [`hl7`] (HL7 v2 over MLLP),
//!   [`import`] (the bulk loader), [`oauth`] (the authorization server): protocol adapters.
//! - [`runtime`]: opening the store and building the shared state.
//! - [`fhir`]: FHIR semantics: resources, search, transactions, history.
//! - [`auth`]: SMART scopes, tokens and what they grant.
//! - [`audit`]: an AuditEvent for every interaction.
//! - [`store`]: the diesel schema, repositories and the database bootstrap.
//! - [`crypto`]: envelope encryption and blind indexes.
//! - [`config`], [`metrics`], [`limits`], [`telemetry`], [`tls`]: settings,
//!   counters and limits every layer reads.
//! - [`model`], [`tenant`], [`time`]: values.
#![forbid(unsafe_code)]

pub mod audit;
pub mod auth;
pub mod auth_cmd;
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
pub mod oauth;
pub mod runtime;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod tenant;
pub mod tenants_cmd;
pub mod time;
pub mod tls;
