//! Routing (http://hl7.org/fhir/R4/http.html#summary). More specific paths are
//! registered first; a path with the wrong method gets 405, an unknown path 404,
//! both as OperationOutcomes.

mod common;
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
                    web::resource("/Patient/{id}/$everything")
                        .route(web::get().to(crate::fhir::everything::instance))
                        .default_service(web::to(mna)),
                )
                .service(
                    web::resource("/_history")
                        .route(web::get().to(system::history))
                        .default_service(web::to(mna)),
                )
                .service(
                    web::resource("/{type}/_history")
                        .route(web::get().to(type_level::history))
                        .default_service(web::to(mna)),
                )
                .service(
                    web::resource("/{type}/_search")
                        .route(web::post().to(type_level::search_post))
                        .default_service(web::to(mna)),
                )
                .service(
                    web::resource("/{type}/{id}/_history/{vid}")
                        .route(web::get().to(instance::vread))
                        .default_service(web::to(mna)),
                )
                .service(
                    web::resource("/{type}/{id}/_history")
                        .route(web::get().to(instance::history))
                        .default_service(web::to(mna)),
                )
                .service(
                    web::resource("/{type}/{id}")
                        .route(web::get().to(instance::read))
                        .route(web::put().to(instance::update))
                        .route(web::patch().to(crate::fhir::patch::patch))
                        .route(web::delete().to(instance::delete))
                        .default_service(web::to(mna)),
                )
                .service(
                    web::resource("/{type}")
                        .route(web::get().to(type_level::search_get))
                        .route(web::post().to(type_level::create))
                        .route(web::put().to(type_level::conditional_update))
                        .route(web::delete().to(type_level::conditional_delete))
                        .default_service(web::to(mna)),
                )
                .default_service(web::to(not_found)),
        );
}
