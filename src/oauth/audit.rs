//! AuditEvents of the authorization server's endpoints: every token request
//! (granted or refused), revocation and refused introspection leaves one,
//! like every FHIR interaction (IHE BALP agents: the client at its address,
//! and this server). Recorded as an `operation` whose query entity names the
//! endpoint and grant (never a token, secret or assertion), outcome from the
//! HTTP status (4 for a refusal).

use actix_web::HttpRequest;

use crate::audit::{AuditRecord, Interaction};
use crate::fhir::AppState;

/// Records one request to `endpoint` (e.g. `auth/token grant_type=client_credentials`)
/// by `client_id` (when it authenticated), answered with `status`.
pub async fn record(
    state: &AppState,
    req: &HttpRequest,
    endpoint: &str,
    client_id: Option<&str>,
    status: u16,
) {
    let mut r = AuditRecord::new(Interaction::Operation);
    r.query = Some(format!("POST {endpoint}"));
    r.client_addr = req.peer_addr().map(|a| a.ip().to_string());
    r.server_addr = Some(req.app_config().local_addr().ip().to_string());
    r.client_id = client_id.map(str::to_owned);
    r.status = status;
    state.engine.record_unparsed(r).await;
}
