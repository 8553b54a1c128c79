//! `POST [base]` with a transaction or batch Bundle
//! (http://hl7.org/fhir/R4/http.html#transaction, bundle.html#transaction).
//! A transaction is one database transaction: every entry succeeds or nothing is
//! stored, and the reply to a failure is the failing entry's OperationOutcome,
//! naming the entry. A batch answers every entry on its own.

mod exec;
mod links;
mod lookups;
mod order;
mod patching;
mod read;
mod refs;
mod request;
mod typed;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use diesel::Connection;
use serde_json::Value;

use self::exec::{Answer, Env};
pub(crate) use self::exec::{MergeFn, Merges};
use self::request::{parse_bundle, Kind};
use super::bundle::{raw, Bundle, Entry, EntryResponse};
use super::context::{Ctx, Reply};
use super::error::FhirError;
use super::format::{input_format, parse_body};
use super::resource::read_body;
use super::AppState;
use crate::audit::{AuditRecord, Interaction};
use crate::fhir::service::Services;

/// Prefixes an error's messages with the entry it came from.
pub(crate) fn name_entry(e: FhirError, label: &str) -> FhirError {
    match e {
        FhirError::Invalid(mut issues) => {
            for i in &mut issues {
                i.diagnostics = format!("{label}: {}", i.diagnostics);
            }
            FhirError::Invalid(issues)
        }
        FhirError::NotFound(m) => FhirError::NotFound(format!("{label}: {m}")),
        FhirError::Conflict(m) => FhirError::Conflict(format!("{label}: {m}")),
        FhirError::BusinessRule(m) => FhirError::BusinessRule(format!("{label}: {m}")),
        FhirError::Gone(m) => FhirError::Gone(format!("{label}: {m}")),
        FhirError::PreconditionFailed(m) => FhirError::PreconditionFailed(format!("{label}: {m}")),
        FhirError::MethodNotAllowed(m) => FhirError::MethodNotAllowed(format!("{label}: {m}")),
        FhirError::Unprocessable(mut v) => {
            for x in &mut v {
                x.expression = format!("{label}: {}", x.expression);
            }
            FhirError::Unprocessable(v)
        }
        other => other,
    }
}

fn status_line(code: u16) -> String {
    let reason = StatusCode::from_u16(code)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    format!("{code} {reason}").trim_end().to_owned()
}

fn entry(answer: Result<Answer, FhirError>) -> Result<Entry, FhirError> {
    Ok(match answer {
        Ok(a) => Entry {
            resource: a.resource.map(raw).transpose()?,
            response: Some(EntryResponse {
                status: status_line(a.status),
                location: a.location,
                etag: a.etag,
                last_modified: a.last_modified,
                outcome: None,
            }),
            ..Entry::default()
        },
        Err(e) => {
            let oo = serde_json::to_vec(&e.to_operation_outcome())
                .map_err(|x| FhirError::Internal(x.to_string()))?;
            Entry {
                response: Some(EntryResponse {
                    status: status_line(e.status().as_u16()),
                    outcome: Some(raw(oo)?),
                    ..EntryResponse::default()
                }),
                ..Entry::default()
            }
        }
    })
}

pub async fn post(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> HttpResponse {
    let mut ctx = Ctx::new(req, state, Interaction::Batch);
    let result = async {
        ctx.check()?;
        let body = read_body(&ctx.req, payload, &ctx.state).await?;
        let value = parse_body(input_format(&ctx.req)?, &body, ctx.state.max_json_nodes)?;
        let base = ctx.base();
        let bundle = submit(&ctx.state, base, &mut ctx.audit, &value).await?;
        Ok(Reply::new(StatusCode::OK, Some(bundle)))
    }
    .await;
    ctx.finish(result).await
}

/// Attempts of a transaction that PostgreSQL aborts for a deadlock or a
/// serialization failure ([`FhirError::Transient`]).
const ATTEMPTS: u32 = 3;

/// An error after which the whole database transaction may simply run again.
pub(crate) trait Transient {
    fn is_transient(&self) -> bool;
}

impl Transient for FhirError {
    fn is_transient(&self) -> bool {
        matches!(self, FhirError::Transient(_))
    }
}

/// Runs `run` (a whole database transaction) again when it fails with a
/// transient error ([`FhirError::Transient`]): two transactions that lock the
/// same rows in opposite orders each hold one the other needs, and PostgreSQL
/// aborts one of them (https://www.postgresql.org/docs/15/explicit-locking.html#LOCKING-DEADLOCKS).
/// Transaction Bundles, batch entries and HL7 v2 messages all retry through here.
pub(crate) fn retrying<T, E: Transient>(mut run: impl FnMut() -> Result<T, E>) -> Result<T, E> {
    let mut attempt = 1;
    loop {
        match run() {
            Err(e) if e.is_transient() && attempt < ATTEMPTS => {
                tracing::info!(
                    attempt,
                    "transaction aborted by a concurrent one; running it again"
                );
                attempt += 1;
            }
            done => return done,
        }
    }
}

/// Carries out a transaction Bundle on `conn`, inside the caller's database
/// transaction, exactly as `POST [base]` does (same parsing, order, reference
/// rewriting, Services and AuditEvents). For writers that are not HTTP
/// clients: HL7 v2 ingest commits the message row in the same transaction.
/// `merges` names the PUT entries to combine with what is stored ([`Merges`]).
/// Returns the number of entries carried out.
pub(crate) fn apply_in_tx(
    conn: &mut diesel::PgConnection,
    svc: &super::service::Services,
    base: &str,
    template: &crate::audit::AuditRecord,
    bundle: &serde_json::Value,
    merges: &Merges,
    max_entries: usize,
) -> Result<usize, FhirError> {
    // HL7 mappings make no PATCH entries: no JSON Patch is parsed here.
    let (kind, reqs) = parse_bundle(
        bundle,
        base,
        max_entries,
        fhirgate_validate::DEFAULT_MAX_NODES,
    )?;
    if kind != Kind::Transaction {
        return Err(FhirError::Internal(
            "apply_in_tx takes a transaction Bundle".into(),
        ));
    }
    let reqs = reqs.into_iter().collect::<Result<Vec<_>, _>>()?;
    let env = Env {
        svc,
        base,
        template,
        merges,
        known: Default::default(),
    };
    Ok(env.transaction(conn, &reqs)?.len())
}

/// Processes a parsed transaction or batch Bundle and returns the response
/// Bundle's JSON. The one path of `POST [base]` and of `fhirgate import` straight
/// into the database, so both validate, encrypt, index and audit alike. `audit`
/// is the Bundle's own record (its interaction becomes transaction or batch);
/// the caller stores it once the outcome is known, as `Ctx::finish` does.
pub async fn submit(
    state: &AppState,
    base: String,
    audit: &mut AuditRecord,
    value: &Value,
) -> Result<Vec<u8>, FhirError> {
    let (kind, reqs) = parse_bundle(value, &base, state.max_bundle_entries, state.max_json_nodes)?;
    audit.interaction = match kind {
        Kind::Transaction => Interaction::Transaction,
        Kind::Batch => Interaction::Batch,
    };
    let svc = Services {
        keyring: state.keyring.clone(),
        model: state.model.clone(),
        tenant: state.tenant.clone(),
    };
    let template = audit.clone();
    let entries = state
        .db
        .run(move |conn| {
            let merges = Merges::new();
            let env = Env {
                svc: &svc,
                base: &base,
                template: &template,
                merges: &merges,
                known: Default::default(),
            };
            match kind {
                Kind::Transaction => {
                    // The whole Bundle is refused when any entry is malformed.
                    let reqs = reqs.into_iter().collect::<Result<Vec<_>, _>>()?;
                    let mut answers =
                        retrying(|| conn.transaction(|conn| env.transaction(conn, &reqs)))?;
                    answers.sort_by_key(|(i, _)| *i);
                    answers
                        .into_iter()
                        .map(|(_, a)| entry(Ok(a)))
                        .collect::<Result<Vec<_>, _>>()
                }
                Kind::Batch => reqs
                    .into_iter()
                    .map(|r| entry(r.and_then(|r| retrying(|| env.one(conn, &r)))))
                    .collect::<Result<Vec<_>, _>>(),
            }
        })
        .await?;
    let mut bundle = Bundle::new(match kind {
        Kind::Transaction => "transaction-response",
        Kind::Batch => "batch-response",
    });
    bundle.entry = entries;
    bundle.to_json()
}
