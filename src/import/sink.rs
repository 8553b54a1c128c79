//! Where Bundles go: a running gateway over HTTP (`--url`), or straight into the
//! database through the very code `POST [base]` runs
//! (the FHIR engine, after the same strict JSON parse), so
//! validation, encryption, indexing and AuditEvents are identical either way.

use std::sync::Arc;

use anyhow::Context;
use serde_json::Value;

use crate::audit::{self, AuditRecord, AuditWriter};
use crate::config::Settings;
use crate::fhir::engine::{Interaction, Origin, Outcome, Request};
use crate::fhir::error::FhirError;
use crate::fhir::format::{parse_body, Format};
use crate::fhir::AppState;
use crate::store::Db;

/// The answer to one Bundle: the HTTP status and the JSON body (a
/// transaction-response or batch-response Bundle, or an OperationOutcome).
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

pub enum Sink {
    Http {
        client: reqwest::Client,
        url: String,
    },
    Direct {
        state: Arc<AppState>,
        tenancy: Arc<crate::fhir::tenancy::Tenancy>,
        writer: AuditWriter,
        db: Db,
        base: String,
    },
}

impl Sink {
    /// A gateway at `url` (its FHIR base); fails when it does not answer `metadata`.
    pub async fn http(url: &str, token: Option<&str>) -> anyhow::Result<Arc<Self>> {
        let url = url.trim_end_matches('/').to_owned();
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(t) = token {
            let mut v = reqwest::header::HeaderValue::from_str(&format!("Bearer {}", t.trim()))
                .context("the token is not a valid header value")?;
            v.set_sensitive(true);
            headers.insert(reqwest::header::AUTHORIZATION, v);
        }
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("building the HTTP client")?;
        let resp = client
            .get(format!("{url}/metadata"))
            .header("accept", "application/fhir+json")
            .send()
            .await
            .with_context(|| format!("the gateway at {url} is unreachable"))?;
        if !resp.status().is_success() {
            anyhow::bail!(
                "{url}/metadata answered {}: is this a FHIR base?",
                resp.status()
            );
        }
        Ok(Arc::new(Self::Http { client, url }))
    }

    /// The database `serve` would use, bootstrapped the same way (configured URL,
    /// local server or private cluster; master key; migrations).
    pub async fn direct(settings: &Settings) -> anyhow::Result<Arc<Self>> {
        let (db, model, master) = crate::runtime::open_store(settings).await?;
        // As `serve` writes: through the serving role, for `--tenant`.
        let serving = crate::runtime::serving_db(&db, settings).await?;
        let (tenancy, writer) = crate::runtime::app_state(
            settings,
            serving,
            model,
            master,
            crate::runtime::Serving {
                http_addr: settings.http_addr,
                fixed_principal: None,
                stop: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            },
        )
        .await?;
        let state = tenancy.site(&settings.tenant).await.map_err(|e| {
            anyhow::anyhow!(
                "tenant {}: {e} (see `fhirgate tenants list`)",
                settings.tenant
            )
        })?;
        let base = state
            .base
            .for_server(settings.http_addr, settings.tls.is_some());
        Ok(Arc::new(Self::Direct {
            state,
            tenancy,
            writer,
            db,
            base,
        }))
    }

    /// Sends one Bundle. Err only when it could not be delivered at all.
    #[tracing::instrument(skip_all)]
    pub async fn send(&self, body: Vec<u8>) -> anyhow::Result<Answer> {
        match self {
            Sink::Http { client, url } => {
                let resp = client
                    .post(url)
                    .header("content-type", "application/fhir+json")
                    .header("accept", "application/fhir+json")
                    .body(body)
                    .send()
                    .await
                    .with_context(|| format!("the gateway at {url} is unreachable"))?;
                let status = resp.status().as_u16();
                let bytes = resp.bytes().await.context("reading the gateway's answer")?;
                Ok(Answer {
                    status,
                    body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                })
            }
            Sink::Direct { state, base, .. } => {
                let result = match parse_body(Format::Json, &body, state.max_json_nodes) {
                    // The engine audits the Bundle as it does `POST [base]`;
                    // the operator's own load is not rate limited.
                    Ok(bundle) => state
                        .engine
                        .run_unmetered(Interaction {
                            tenant: state.tenant.clone(),
                            principal: state.principal.clone(),
                            base: base.clone(),
                            origin: Origin::default(),
                            request: Request::Bundle { bundle },
                        })
                        .await
                        .and_then(|outcome| match outcome {
                            Outcome::Document(bytes) => serde_json::from_slice(&bytes)
                                .map_err(|e| FhirError::Internal(e.to_string())),
                            _ => Err(FhirError::Internal("a Bundle answered no Bundle".into())),
                        }),
                    Err(e) => {
                        let mut record = AuditRecord::new(audit::Interaction::Batch);
                        record.status = e.status().as_u16();
                        state.engine.record_unparsed(record).await;
                        Err(e)
                    }
                };
                Ok(match result {
                    Ok(body) => Answer { status: 200, body },
                    Err(e) => Answer {
                        status: e.status().as_u16(),
                        body: e.to_operation_outcome(),
                    },
                })
            }
        }
    }

    /// Drains the audit queue and stops the database (direct); nothing for HTTP.
    pub async fn close(self) {
        if let Sink::Direct {
            state,
            tenancy,
            writer,
            db,
            ..
        } = self
        {
            // The audit writer ends once every sender (inside the state) is gone.
            drop(state);
            tenancy
                .parts()
                .stop
                .store(true, std::sync::atomic::Ordering::Relaxed);
            drop(tenancy);
            let _ = tokio::task::spawn_blocking(move || writer.join()).await;
            db.shutdown().await;
        }
    }
}
