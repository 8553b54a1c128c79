//! Health, readiness and metrics (not FHIR interactions: no AuditEvent).

use actix_web::{web, HttpResponse};

use crate::fhir::AppState;

const READY_WAIT: std::time::Duration = std::time::Duration::from_millis(900);

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// The database answers and every migration is applied. A probe wants its
/// answer within a second, whatever the database does: while the pool knows
/// it is down the answer is immediate, and a database that does not answer
/// (a host gone from the network) is not waited for past [`READY_WAIT`].
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let ready = !state.engine.db().is_down()
        && tokio::time::timeout(READY_WAIT, state.engine.db().ready())
            .await
            .unwrap_or(false);
    if ready {
        HttpResponse::Ok().json(serde_json::json!({"status": "ready"}))
    } else {
        HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({"status": "database unavailable or migrations pending"}))
    }
}

/// Counters in the Prometheus text format (src/metrics.rs).
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let mut body = state.metrics.render();
    // Counted by the keyring, which every decryption goes through.
    body.push_str(&format!(
        "# HELP fhirgate_unreadable_total stored values that did not decrypt (corrupt or forged rows), each time one was read\n\
         # TYPE fhirgate_unreadable_total counter\nfhirgate_unreadable_total {}\n",
        state.engine.keyring().unreadable()
    ));
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(body)
}
