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
use diesel::Connection;
use serde_json::Value;

use self::exec::{Answer, Env};
pub use self::exec::{MergeFn, Merges};
use self::request::{parse_bundle, Kind};
use super::access::Principal;
use super::{Engine, Origin, Outcome, Services};
use crate::audit::{AuditRecord, Interaction};
use crate::fhir::bundle::{raw, Bundle, Entry, EntryResponse};
use crate::fhir::error::FhirError;
use crate::tenant::TenantId;

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

/// Attempts of a transaction that PostgreSQL aborts for a deadlock or a
/// serialization failure ([`FhirError::Transient`]).
const ATTEMPTS: u32 = 3;

/// An error after which the whole database transaction may simply run again.
pub trait Transient {
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
pub fn retrying<T, E: Transient>(mut run: impl FnMut() -> Result<T, E>) -> Result<T, E> {
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

impl Engine {
    /// Carries out a transaction Bundle on `conn`, inside the caller's
    /// database transaction, exactly as `POST [base]` does (same parsing,
    /// order, reference rewriting, decisions, Services and AuditEvents), for a
    /// writer that commits a row of its own with it: HL7 v2 ingest stores the
    /// message in the same transaction. `merges` names the PUT entries to
    /// combine with what is stored ([`Merges`]). Returns the number of entries
    /// carried out.
    #[allow(clippy::too_many_arguments)]
    pub fn apply_bundle_in(
        &self,
        conn: &mut diesel::PgConnection,
        tenant: &TenantId,
        principal: &Principal,
        origin: &Origin,
        base: &str,
        bundle: &Value,
        merges: &Merges,
    ) -> Result<usize, FhirError> {
        let svc = Services::new(
            self.keyring().clone(),
            self.model().clone(),
            tenant.clone(),
            principal.clone(),
        );
        let mut template = AuditRecord::new(Interaction::Transaction);
        template.client_addr = origin.client_addr.clone();
        template.server_addr = origin.server_addr.clone();
        if let Some(actor) = principal.actor() {
            template.user = actor.user.clone();
            template.client_id = actor.client_id.clone();
        }
        // HL7 mappings make no PATCH entries: no JSON Patch is parsed here.
        let (kind, reqs) = parse_bundle(
            bundle,
            base,
            self.limits().max_bundle_entries,
            fhirgate_validate::DEFAULT_MAX_NODES,
        )?;
        if kind != Kind::Transaction {
            return Err(FhirError::Internal(
                "apply_bundle_in takes a transaction Bundle".into(),
            ));
        }
        let reqs = reqs.into_iter().collect::<Result<Vec<_>, _>>()?;
        let env = Env {
            svc: &svc,
            base,
            template: &template,
            merges,
            known: Default::default(),
        };
        Ok(env.transaction(conn, &reqs)?.len())
    }

    /// A transaction or batch Bundle (http.html#transaction): a transaction in
    /// ONE database transaction (retried when PostgreSQL aborts it for a
    /// deadlock), a batch entry by entry. `record` is the Bundle's own
    /// AuditEvent (its interaction becomes transaction or batch).
    pub(super) async fn bundle(
        &self,
        svc: &Services,
        base: &str,
        value: Value,
        record: &mut AuditRecord,
    ) -> Result<Outcome, FhirError> {
        let limits = self.limits();
        let (kind, reqs) = parse_bundle(
            &value,
            base,
            limits.max_bundle_entries,
            limits.max_json_nodes,
        )?;
        record.interaction = match kind {
            Kind::Transaction => Interaction::Transaction,
            Kind::Batch => Interaction::Batch,
        };
        let template = record.clone();
        let base2 = base.to_owned();
        let svc = svc.clone();
        let entries = self
            .db()
            .run(move |conn| {
                let merges = Merges::new();
                let env = Env {
                    svc: &svc,
                    base: &base2,
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
        Ok(Outcome::Document(bundle.to_json()?))
    }
}
