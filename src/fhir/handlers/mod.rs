//! Routing (http://hl7.org/fhir/R4/http.html#summary). The static paths are
//! actix routes; the `[type]/...` shapes are split by `dispatch.rs`. A path with
//! the wrong method gets 405, an unknown path 404, both as OperationOutcomes.

mod common;
pub mod conditional_read;
mod dispatch;
mod instance;
mod system;
mod type_level;

use actix_web::web;

pub use common::{etag as common_etag, not_found, written_reply as written_reply_pub};
pub use instance::HistoryScopeOwned;

pub fn configure(cfg: &mut web::ServiceConfig) {
    use common::method_not_allowed as mna;
    cfg.route("/healthz", web::get().to(system::healthz))
        .route("/readyz", web::get().to(system::readyz))
        .route("/metrics", web::get().to(system::metrics))
        .service(
            web::scope("/fhir")
                // transaction and batch (http://hl7.org/fhir/R4/http.html#transaction)
                .service(
                    web::resource(["", "/"])
                        .route(web::post().to(crate::fhir::transaction::post))
                        .default_service(web::to(mna)),
                )
                .service(
                    web::resource("/metadata")
                        .route(web::get().to(system::metadata))
                        .default_service(web::to(mna)),
                )
                // http://hl7.org/fhir/R4/patient-operation-everything.html
                .service(
                    web::resource("/Patient/$everything")
                        .route(web::get().to(crate::fhir::everything::type_level))
                        .default_service(web::to(mna)),
                )
                .service(
                    web::resource("/_history")
                        .route(web::get().to(system::history))
                        .default_service(web::to(mna)),
                )
                // every other path: dispatch.rs
                .default_service(web::to(dispatch::dispatch)),
        );
}
