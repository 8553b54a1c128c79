//! Pieces every handler shares.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use fhirgate_validate::IssueCode;

use crate::audit::{AuditRecord, Interaction};
use crate::fhir::context::{Ctx, Reply};
use crate::fhir::error::FhirError;
use crate::fhir::resource::instant;
use crate::fhir::service::{bad_if_match, parse_etag, Services, Written};
use crate::fhir::AppState;
use crate::model::{ResourceId, ResourceType};
use crate::store::writes::WriteSet;

pub async fn not_found(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let ctx = Ctx::new(req, state, Interaction::Operation);
    ctx.finish(Err(FhirError::NotFound(
        "no FHIR endpoint at this path".into(),
    )))
    .await
}

pub async fn method_not_allowed(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let method = req.method().to_string();
    let ctx = Ctx::new(req, state, Interaction::Operation);
    ctx.finish(Err(FhirError::MethodNotAllowed(format!(
        "{method} is not supported at this path"
    ))))
    .await
}

impl Ctx {
    /// The served type named in the URL; unknown types are 404 (http.html#2.21.0.17).
    pub fn resource_type(&mut self, name: &str, writing: bool) -> Result<ResourceType, FhirError> {
        let rtype = ResourceType::parse(name).ok_or_else(|| {
            FhirError::NotFound(format!(
                "resource type {:?} is not served here",
                name.chars().take(64).collect::<String>()
            ))
        })?;
        self.audit.resource_type = Some(rtype.as_str().to_owned());
        if writing && !rtype.client_writable() {
            return Err(FhirError::MethodNotAllowed(format!(
                "{rtype} resources are written by the server only"
            )));
        }
        Ok(rtype)
    }

    pub fn resource_id(&mut self, raw: &str) -> Result<ResourceId, FhirError> {
        let id = ResourceId::parse(raw).ok_or_else(|| {
            FhirError::invalid(
                IssueCode::Value,
                None,
                "the id in the URL must match [A-Za-z0-9\\-\\.]{1,64}",
            )
        })?;
        self.audit.id = Some(id.to_string());
        Ok(id)
    }

    /// Runs `f` in one database transaction with the write services and this
    /// interaction's audit record, and keeps what the write filled into the record
    /// (id, version, patients). If the transaction fails, even at COMMIT, an
    /// AuditEvent inserted inside it is gone too, so the record is marked unstored
    /// and `finish` queues it with the failure outcome.
    pub async fn write_tx<T, F>(&mut self, f: F) -> Result<T, FhirError>
    where
        F: FnOnce(&Services, &mut diesel::PgConnection, &mut AuditRecord) -> Result<T, FhirError>
            + Send
            + 'static,
        T: Send + 'static,
    {
        self.write(true, f).await
    }

    /// [`Self::write_tx`] for a write whose one statement is the flush of what
    /// `f` stages: `f` may read (key lookups) but must write nothing itself.
    /// The flush is sent without BEGIN and COMMIT, because PostgreSQL runs a
    /// statement sent alone as its own transaction ("every individual
    /// statement has an implicit BEGIN and (if successful) COMMIT wrapped
    /// around it", https://www.postgresql.org/docs/15/tutorial-transactions.html):
    /// the same atomicity in one round trip instead of three. pgbench on this
    /// machine: BEGIN; INSERT; COMMIT ran at half the rate of the INSERT alone
    /// (docs/performance.md, session 7).
    pub async fn write_one<T, F>(&mut self, f: F) -> Result<T, FhirError>
    where
        F: FnOnce(
                &Services,
                &mut diesel::PgConnection,
                &mut WriteSet,
                &mut AuditRecord,
            ) -> Result<T, FhirError>
            + Send
            + 'static,
        T: Send + 'static,
    {
        self.write(false, move |svc, conn, audit| {
            let mut ws = WriteSet::default();
            let staged = f(svc, conn, &mut ws, audit)?;
            svc.flush(conn, &mut ws)?;
            Ok(staged)
        })
        .await
    }

    async fn write<T, F>(&mut self, in_transaction: bool, f: F) -> Result<T, FhirError>
    where
        F: FnOnce(&Services, &mut diesel::PgConnection, &mut AuditRecord) -> Result<T, FhirError>
            + Send
            + 'static,
        T: Send + 'static,
    {
        use diesel::Connection;
        let svc = self.services();
        let mut audit = self.audit.clone();
        let (result, audit) = self
            .state
            .db
            .run(move |conn| {
                let result = if in_transaction {
                    conn.transaction(|conn| f(&svc, conn, &mut audit))
                } else {
                    f(&svc, conn, &mut audit)
                };
                if result.is_err() {
                    audit.stored = false;
                }
                Ok::<_, FhirError>((result, audit))
            })
            .await?;
        self.audit = audit;
        result
    }

    pub fn services(&self) -> Services {
        Services {
            keyring: self.state.keyring.clone(),
            model: self.state.model.clone(),
            tenant: self.state.tenant.clone(),
        }
    }

    pub fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.req.headers().get(name).and_then(|v| v.to_str().ok())
    }

    pub fn if_match(&self) -> Result<Option<i32>, FhirError> {
        match self.header(header::IF_MATCH) {
            None => Ok(None),
            Some(v) => parse_etag(v).map(Some).ok_or_else(|| bad_if_match(v)),
        }
    }

    /// Prefer: return= (http://hl7.org/fhir/R4/http.html#ops).
    pub fn prefer_return(&self) -> &str {
        self.req
            .headers()
            .get_all("prefer")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .find_map(|p| p.trim().strip_prefix("return="))
            .unwrap_or("representation")
    }

    pub fn handling_strict(&self) -> bool {
        self.req
            .headers()
            .get_all("prefer")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|p| p.trim() == "handling=strict")
    }

    pub fn location(&self, rtype: ResourceType, id: &ResourceId, version: i32) -> String {
        format!("{}/{rtype}/{id}/_history/{version}", self.base())
    }
}

pub fn etag(version: i32) -> String {
    format!("W/\"{version}\"")
}

pub fn http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// The reply to a write: 201 when it brought the resource into existence, else 200.
pub fn written_reply(ctx: &Ctx, rtype: ResourceType, w: Written) -> Reply {
    let status = if w.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    write_reply(
        ctx,
        rtype,
        &w.id,
        w.version_id,
        w.last_updated,
        w.body,
        status,
    )
}

/// The reply to a successful create or update, shaped by Prefer: return=.
#[allow(clippy::too_many_arguments)]
pub fn write_reply(
    ctx: &Ctx,
    rtype: ResourceType,
    id: &ResourceId,
    version: i32,
    last_updated: DateTime<Utc>,
    body: Vec<u8>,
    status: StatusCode,
) -> Reply {
    let payload = match ctx.prefer_return() {
        "minimal" => None,
        "OperationOutcome" => {
            let text = format!(
                "{rtype}/{id} version {version} stored at {}",
                instant(last_updated)
            );
            let oo = serde_json::json!({"resourceType": "OperationOutcome", "issue": [{"severity": "information", "code": "informational", "diagnostics": text}]});
            serde_json::to_vec(&oo).ok()
        }
        _ => Some(body),
    };
    Reply::new(status, payload)
        .header(header::ETAG, etag(version))
        .header(header::LAST_MODIFIED, http_date(last_updated))
        .header(header::LOCATION, ctx.location(rtype, id, version))
}
