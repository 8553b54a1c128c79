//! `fhirgate hl7 replay`: re-applies stored raw messages (after a mapping fix).
//!
//! Idempotent because the mapping keys every resource by identifier and writes
//! it with a conditional update (crates/fhirgate-v2fhir/README.md): a replay
//! updates what the first application made instead of adding to it. The
//! message rows keep their original outcome; the replay's is recorded beside it.

use std::sync::Arc;

use diesel::Connection;

use super::ingest::Ingestor;
use crate::fhir::engine::Origin;
use crate::store::hl7 as messages;

#[derive(Debug, Clone, clap::Args)]
pub struct ReplayArgs {
    /// Also re-apply messages that were answered AE (AR ones are never applied).
    #[arg(long)]
    pub include_errors: bool,
    /// Messages read per page.
    #[arg(long, default_value_t = 200)]
    pub batch: i64,
    /// Instead: deliver this message kept for no tenant (an id `fhirgate hl7
    /// unrouted` lists) to --tenant, as if it had been received for it;
    /// repeatable.
    #[arg(long = "unrouted", value_name = "ID")]
    pub unrouted: Vec<String>,
}

#[derive(Debug, Default)]
pub struct ReplaySummary {
    pub applied: usize,
    pub failed: usize,
    pub skipped: usize,
}

/// Replays every stored message in the order received.
pub fn run(ingest: &Arc<Ingestor>, args: &ReplayArgs) -> anyhow::Result<ReplaySummary> {
    let mut summary = ReplaySummary::default();
    let mut after = String::new();
    let (keyring, tenant) = (ingest.engine.keyring(), &ingest.tenant);
    let origin = Origin {
        client_addr: Some("replay".into()),
        server_addr: None,
    };
    loop {
        let page = ingest.db().run_sync(|conn| {
            messages::page(
                conn,
                keyring,
                tenant,
                &after,
                args.include_errors,
                args.batch,
            )
        })?;
        let Some(last) = page.last() else { break };
        after = last.id.clone();
        for stored in page {
            if stored.ack_code == "AR" {
                summary.skipped += 1;
                continue;
            }
            // Reasons name codes and fields only (MapError's text never quotes a
            // value); the parser's is reduced to its kind for the same reason.
            let outcome = fhirgate_hl7::parse(&stored.raw.0)
                .map_err(|_| "the stored message no longer parses".to_owned())
                .and_then(|msg| {
                    fhirgate_v2fhir::to_bundle(&msg, &ingest.map).map_err(|e| format!("map: {e}"))
                });
            let code = match outcome {
                Err(reason) => {
                    tracing::warn!(id = %stored.id, %reason, "stored message no longer maps; not replayed");
                    "AE"
                }
                Ok(mapped) => {
                    let merges = super::ingest::merges_of(&mapped);
                    let applied = ingest.db().run_sync(|conn| {
                        conn.transaction(|conn| {
                            ingest.engine.apply_bundle_in(
                                conn,
                                tenant,
                                &ingest.principal,
                                &origin,
                                &ingest.base,
                                &mapped.bundle,
                                &merges,
                            )
                        })
                    });
                    match applied {
                        Ok(_) => "AA",
                        Err(e) => {
                            tracing::warn!(id = %stored.id, status = %e.status(), "replay refused by the FHIR transaction");
                            "AE"
                        }
                    }
                }
            };
            if code == "AA" {
                summary.applied += 1;
            } else {
                summary.failed += 1;
            }
            ingest
                .db()
                .run_sync(|conn| messages::mark_replayed(conn, tenant, &stored.id, code))?;
        }
    }
    Ok(summary)
}

/// `fhirgate hl7 replay`, with the same database and key configuration as serve.
pub async fn command(settings: crate::config::Settings, args: ReplayArgs) -> anyhow::Result<()> {
    use anyhow::Context;
    let master = crate::crypto::MasterKey::load_or_generate(
        settings.master_key_file.as_deref(),
        &settings.data_dir,
    )?;
    let db = crate::store::bootstrap::open(&settings).await?;
    let keyring = Arc::new(crate::crypto::Keyring::new(master));
    db.migrate(keyring.clone())
        .await
        .context("applying migrations")?;
    let model = Arc::new(tokio::task::spawn_blocking(crate::fhir::FhirModel::load).await??);
    let tenant = settings.tenant.clone();
    let raw_db = db;
    let db = crate::runtime::command_db(&raw_db, &settings).await?;
    {
        let (k, t) = (keyring.clone(), tenant.clone());
        db.run(move |conn| k.ensure_tenant(conn, t.as_str()))
            .await
            .context("opening the data keys (is this the database's master key?)")?;
    }
    let (audit, writer) =
        crate::audit::AuditSink::start(db.clone(), keyring.clone(), tenant.clone());
    let engine = Arc::new(crate::fhir::engine::Engine::new(
        db.clone(),
        keyring,
        model,
        audit,
        crate::fhir::engine::EngineLimits {
            max_bundle_entries: settings.max_bundle_entries,
            max_json_nodes: settings.limits.max_json_nodes,
            // Replay is the operator's own work: not rate limited.
            rates: Default::default(),
        },
    ));
    let ingest = Arc::new(Ingestor {
        engine,
        tenant,
        principal: crate::fhir::engine::Principal::anonymous_local(),
        metrics: Arc::new(crate::metrics::Metrics::default()),
        map: super::ingest::map_options(&settings.hl7),
        base: crate::fhir::base::BaseUrl::new(&settings)
            .for_tenant(&settings.tenant)
            .for_server(settings.http_addr, settings.tls.is_some()),
    });
    let summary = if args.unrouted.is_empty() {
        let ingest = ingest.clone();
        let args = args.clone();
        tokio::task::spawn_blocking(move || run(&ingest, &args)).await??
    } else {
        let keyring = ingest.engine.keyring().clone();
        super::unrouted::deliver(&ingest, &raw_db, &keyring, &args.unrouted).await?
    };
    let skipped = if args.unrouted.is_empty() {
        "skipped (AR)"
    } else {
        "skipped (delivered before)"
    };
    println!(
        "replayed: {} applied, {} failed, {} {skipped}",
        summary.applied, summary.failed, summary.skipped
    );
    drop(ingest);
    tokio::task::spawn_blocking(move || writer.join()).await?;
    db.shutdown().await;
    anyhow::ensure!(
        summary.failed == 0,
        "{} message(s) could not be replayed",
        summary.failed
    );
    Ok(())
}
