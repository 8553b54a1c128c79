//! The built-in authorization server's HTTP side (SMART App Launch 2.0.0,
//! https://hl7.org/fhir/smart-app-launch/STU2/): discovery, JWKS, authorize
//! (login, consent and patient picker pages), token, introspection,
//! revocation and the EHR launch. A protocol adapter: it reaches data through
//! `auth` and the store, and the FHIR engine only to look patients up for the
//! picker.
//!
//! Every endpoint lives under the FHIR base (`[base]/auth/...`), so that each
//! FHIR base (one per tenant, later) has its own authorization server.

pub mod audit;
pub mod authorize;
pub mod client_auth;
pub mod client_credentials;
pub mod code_grant;
pub mod consent;
pub mod csrf;
pub mod discovery;
pub mod error;
pub mod flow;
pub mod id_token;
pub mod introspect;
pub mod jwks;
pub mod launch;
pub mod login;
pub mod pages;
pub mod picker;
pub mod presented;
pub mod refresh;
pub mod revoke;
pub mod token;

use actix_web::web;

/// The paths under the FHIR base (`[base]` + these).
pub mod paths {
    pub const SMART_CONFIGURATION: &str = "/.well-known/smart-configuration";
    pub const OPENID_CONFIGURATION: &str = "/.well-known/openid-configuration";
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
    cfg.route(paths::TOKEN, web::post().to(token::post))
        .route(paths::SMART_CONFIGURATION, web::get().to(discovery::get))
        .route(
            paths::OPENID_CONFIGURATION,
            web::get().to(discovery::openid),
        )
        .route(paths::JWKS, web::get().to(jwks::get))
        .service(
            web::resource(paths::AUTHORIZE)
                .route(web::get().to(authorize::get))
                .route(web::post().to(authorize::post)),
        )
        .route(login::PATH, web::post().to(login::post))
        .route(picker::PATH, web::post().to(picker::post))
        .route(consent::PATH, web::post().to(consent::post))
        .route(paths::LAUNCH, web::post().to(launch::post));
    cfg.route(paths::INTROSPECT, web::post().to(introspect::post));
    cfg.route(paths::REVOKE, web::post().to(revoke::post));
}
