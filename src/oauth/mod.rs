//! The built-in authorization server's HTTP side (SMART App Launch 2.0.0,
//! https://hl7.org/fhir/smart-app-launch/STU2/): discovery, JWKS, authorize
//! (login, consent and patient picker pages), token, introspection,
//! revocation and the EHR launch. A protocol adapter: it reaches data through
//! `auth` and the store, and the FHIR engine only to look patients up for the
//! picker.
//!
//! Every endpoint lives under the FHIR base (`[base]/auth/...`), so that each
//! FHIR base (one per tenant, later) has its own authorization server.

pub mod client_auth;
pub mod client_credentials;
pub mod error;
pub mod token;

use actix_web::web;

/// The paths under the FHIR base (`[base]` + these).
pub mod paths {
    pub const SMART_CONFIGURATION: &str = "/.well-known/smart-configuration";
    pub const AUTHORIZE: &str = "/auth/authorize";
    pub const TOKEN: &str = "/auth/token";
    pub const INTROSPECT: &str = "/auth/introspect";
    pub const REVOKE: &str = "/auth/revoke";
    pub const JWKS: &str = "/auth/jwks";
    /// The EHR launch: an authenticated EHR obtains an opaque launch id.
    pub const LAUNCH: &str = "/$smart-launch";
}

/// Registers the endpoints inside the FHIR base's scope (fhir/handlers).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::TOKEN, web::post().to(token::post));
}
