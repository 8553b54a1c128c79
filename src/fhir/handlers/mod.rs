//! Routing (http://hl7.org/fhir/R4/http.html#summary). The static paths are
//! actix routes; the `[type]/...` shapes are split by `dispatch.rs`. A path with
//! the wrong method gets 405, an unknown path 404, both as OperationOutcomes.

//!
//! One file per interaction, each a thin adapter: parse the request into the
//! engine's `Request`, run it (`common::interact`), render the outcome.

mod body;
mod capabilities;
mod common;
mod create;
mod delete;
mod dispatch;
mod history;
mod operations;
mod patch;
mod read;
mod search;
mod system;
mod transaction;
mod update;

use actix_web::web;

pub use common::not_found;

/// Health, readiness and metrics: unauthenticated, carrying no patient data;
/// served with the API or on `--ops-addr` (startup.rs).
pub fn configure_ops(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(system::healthz))
        .route("/readyz", web::get().to(system::readyz))
        .route("/metrics", web::get().to(system::metrics));
}

/// The FHIR API and its authorization server: the default tenant's at
/// `/fhir`, every other tenant's at `/t/{tenant}/fhir` (issue #18; the
/// `tenant` segment chooses the site, context.rs `Site`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(base_scope(crate::fhir::base::BASE_PATH))
        .service(base_scope(&format!(
            "{}{{tenant}}{}",
            crate::fhir::base::TENANT_PREFIX,
            crate::fhir::base::BASE_PATH
        )));
}

fn base_scope(path: &str) -> actix_web::Scope {
    use common::method_not_allowed as mna;
    web::scope(path)
        // The authorization server's endpoints (SMART App Launch 2.0.0).
        .configure(crate::oauth::configure)
        // transaction and batch (http://hl7.org/fhir/R4/http.html#transaction)
        .service(
            web::resource(["", "/"])
                .route(web::post().to(transaction::post))
                .default_service(web::to(mna)),
        )
        .service(
            web::resource("/metadata")
                .route(web::get().to(capabilities::metadata))
                .default_service(web::to(mna)),
        )
        // http://hl7.org/fhir/R4/patient-operation-everything.html
        .service(
            web::resource("/Patient/$everything")
                .route(web::get().to(operations::everything_type))
                .default_service(web::to(mna)),
        )
        .service(
            web::resource("/_history")
                .route(web::get().to(history::system))
                .default_service(web::to(mna)),
        )
        // every other path: dispatch.rs
        .default_service(web::to(dispatch::dispatch))
}
