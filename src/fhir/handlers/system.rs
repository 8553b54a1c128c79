//! System-level endpoints: capabilities, health and readiness.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::audit::Interaction;
use crate::fhir::capability::capability_statement;
use crate::fhir::context::{Ctx, Reply};
use crate::fhir::error::FhirError;
use crate::fhir::AppState;

pub async fn metadata(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let ctx = Ctx::new(req, state, Interaction::Capabilities);
    let result = ctx.check().and_then(|_| {
        let cs = capability_statement(&ctx.state.model.registry, &ctx.base());
        serde_json::to_vec(&cs).map_err(|e| FhirError::Internal(e.to_string()))
    });
    ctx.finish(result.map(|body| Reply::new(StatusCode::OK, Some(body))))
        .await
}

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
    let ready = !state.db.is_down()
        && tokio::time::timeout(READY_WAIT, state.db.ready())
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
        state.keyring.unreadable()
    ));
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(body)
}

/// `GET [base]/_history` (http://hl7.org/fhir/R4/http.html#history): every
/// version of every served resource, newest first.
pub async fn history(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let ctx = Ctx::new(req, state, Interaction::HistorySystem);
    let result = async {
        ctx.check()?;
        crate::fhir::history::history_reply(&ctx, super::HistoryScopeOwned::System).await
    }
    .await;
    ctx.finish(result).await
}
