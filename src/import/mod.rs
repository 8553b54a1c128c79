//! `fhirgate import FILE_OR_DIR...`: bulk ingest of transaction, batch and
//! collection Bundles and NDJSON files (issue #4), into a running gateway
//! (`--url`) or straight into the database through the same transaction code
//! as `POST [base]` (http://hl7.org/fhir/R4/http.html#transaction).
//!
//! The choices, and why (the README says the same):
//! - **Entries of types this gateway does not serve** are left out before
//!   sending and counted by type ("Encounter: type not served: 45"): a
//!   transaction with one of them would be refused whole.
//! - **References to left-out entries** by their `urn:uuid:` fullUrl would
//!   dangle, which a transaction refuses. They become a Reference with `type`,
//!   the target's first `identifier` (when it has one) and a `display` saying it
//!   was not imported: valid R4, and the link can be re-made when the type is
//!   served. Every other reference (`Encounter/123`, absolute URLs, inside
//!   `contained` too) is kept: import stores what a PUT would store.
//! - **Response Bundles** (batch-response, transaction-response, searchset,
//!   history) are skipped and listed in the summary: not data, not a failure.
//!   `MedicationRequest.medicationReference` to a left-out Medication becomes
//!   `medicationCodeableConcept` with the Medication's code when it has one
//!   (medication[x] is required), else the display-only Reference.
//! - **Collections** become transactions: PUT `Type/id` when the resource has an
//!   id, else POST; fullUrls are kept so references resolve. **NDJSON** files
//!   (nd-json.html) go in transactions of `--ndjson-bundle-size` resources, the
//!   same way; a malformed line refuses the whole file before anything is sent.
//! - **Re-runs**: a POST of a resource with an identifier gets `ifNoneExist:
//!   identifier=system|value` (http.html#ccreate) unless it has one or
//!   `--no-identifier-match` is given. Importing a Synthea file twice therefore
//!   stores its Patient and Practitioners once (the second run finds them), but
//!   Observations and MedicationRequests, which Synthea gives no identifier, are
//!   created again, linked to the existing Patient. Practitioners shared by
//!   several Synthea patients are stored once.
//! - **Failures**: a refused transaction stores nothing of its Bundle (all or
//!   nothing) and is listed with its first error; a refused batch entry likewise.
//!   Unreadable or malformed files and undeliverable Bundles are hard failures:
//!   the exit code is then 1; refusals alone exit 0 and say so.

mod filter;
mod progress;
mod sink;
mod source;
pub mod summary;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context;

pub use self::filter::served;
use self::filter::{NotSent, Options, Prepared};
use self::progress::Progress;
pub use self::progress::ProgressMode;
use self::sink::Sink;
pub use self::summary::Summary;
use crate::config::Settings;

/// Flags of `fhirgate import`.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {
    /// Files and directories to import. Directories are searched recursively for
    /// *.json (a Bundle of type transaction, batch, collection, document or
    /// searchset, or a single resource) and *.ndjson (one resource per line).
    #[arg(required = true, value_name = "FILE_OR_DIR")]
    pub paths: Vec<PathBuf>,
    /// FHIR base URL of a running gateway, e.g. http://127.0.0.1:8080/fhir.
    /// Without it, resources go straight into the database that `serve` would
    /// use (same --database-url, --data-dir, master key and migrations).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Bearer token for --url (every FHIR request needs one: e.g.
    /// `$(fhirgate token --scope "system/*.cruds")`).
    #[arg(
        long,
        env = "FHIRGATE_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
    /// Bundles sent at once (uploaders).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    /// Resources per transaction when reading NDJSON files.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub ndjson_bundle_size: u32,
    /// Do not make POSTs of resources with an identifier conditional
    /// (ifNoneExist identifier=system|value); a re-import then duplicates them.
    #[arg(long)]
    pub no_identifier_match: bool,
    /// Progress on stderr: a bar (terminal), plain lines, or nothing.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
    /// Seconds between plain progress lines.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub progress_every: u64,
    /// Name files by path in the summary instead of by number (file names can
    /// carry patient names: Synthea names its files after the patient).
    #[arg(long)]
    pub show_paths: bool,
}

/// One source Bundle, prepared, with what it stands for.
struct Work {
    label: String,
    prepared: Prepared,
    bytes: u64,
}

fn lock(t: &Mutex<Summary>) -> std::sync::MutexGuard<'_, Summary> {
    // A panicking uploader must not hide the counts of the others.
    t.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs the import and returns its summary (`Summary::print`,
/// `Summary::failed_hard`). Err when the target cannot be reached or opened.
pub async fn run(settings: Settings, args: ImportArgs) -> anyhow::Result<Summary> {
    let (files, bad_paths) = source::collect(&args.paths);
    let sizes: Vec<u64> = files
        .iter()
        .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
        .collect();
    let sink = match &args.url {
        Some(u) => Sink::http(u, args.token.as_deref()).await?,
        None => Sink::direct(&settings).await?,
    };
    let summary = Arc::new(Mutex::new(Summary::default()));
    for (p, e) in &bad_paths {
        let name = if args.show_paths {
            p.display().to_string()
        } else {
            "an input path".to_owned()
        };
        lock(&summary).failures.push(format!("{name}: {e}"));
    }
    let progress = Progress::new(
        args.progress,
        sizes.iter().sum(),
        Duration::from_secs(args.progress_every),
    );
    let concurrency = usize::from(args.concurrency);
    let (tx, rx) = tokio::sync::mpsc::channel::<Work>(concurrency * 2);
    let reader = {
        let (summary, progress) = (summary.clone(), progress.clone());
        let opts = Options {
            identifier_match: !args.no_identifier_match,
        };
        let (group, show) = (args.ndjson_bundle_size as usize, args.show_paths);
        tokio::task::spawn_blocking(move || {
            for (n, (f, size)) in files.iter().zip(sizes).enumerate() {
                let label = if show {
                    f.display().to_string()
                } else {
                    format!("file #{}", n + 1)
                };
                let mut bad = None;
                let read = source::read(f, group, &mut |unit| {
                    let label = match unit.lines {
                        Some((a, b)) => format!("{label} lines {a}-{b}"),
                        None => label.clone(),
                    };
                    match filter::prepare(unit.bundle, opts) {
                        Ok(prepared) => {
                            lock(&summary).left_out(&prepared);
                            let work = Work {
                                label,
                                prepared,
                                bytes: unit.bytes,
                            };
                            tx.blocking_send(work).is_ok()
                        }
                        Err(NotSent::Response(why)) => {
                            lock(&summary).skipped.push(format!("{label}: {why}"));
                            true
                        }
                        Err(NotSent::Invalid(e)) => {
                            bad = Some(e);
                            false
                        }
                    }
                });
                let mut t = lock(&summary);
                t.files += 1;
                if let Some(e) = read.err().or(bad) {
                    t.files_failed += 1;
                    t.failures.push(format!("{label}: {e}"));
                    progress.advance(size, 0, 0);
                }
            }
        })
    };
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let mut workers = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let (rx, sink, summary, progress) =
            (rx.clone(), sink.clone(), summary.clone(), progress.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let work = rx.lock().await.recv().await;
                let Some(w) = work else { break };
                upload(&sink, &summary, &progress, w).await;
            }
        }));
    }
    reader.await.context("the file reader stopped")?;
    for w in workers {
        w.await.context("an uploader stopped")?;
    }
    progress.finish();
    drop(progress);
    if let Ok(sink) = Arc::try_unwrap(sink) {
        sink.close().await;
    }
    let summary = Arc::try_unwrap(summary)
        .map(|m| m.into_inner().unwrap_or_else(PoisonError::into_inner))
        .unwrap_or_else(|shared| std::mem::take(&mut *lock(&shared)));
    Ok(summary)
}

/// Sends one prepared Bundle and counts its answer.
#[tracing::instrument(skip_all)]
async fn upload(sink: &Sink, summary: &Mutex<Summary>, progress: &Progress, w: Work) {
    let left_out: u64 = w.prepared.unserved.values().sum();
    let Some(body) = w.prepared.body else {
        progress.advance(w.bytes, 0, left_out);
        return;
    };
    let sent = &w.prepared.sent;
    let (stored, refused) = match sink.send(body).await {
        Ok(answer) => lock(summary).answer(&w.label, sent, &answer),
        Err(e) => (0, lock(summary).hard(&w.label, &format!("{e:#}"), sent)),
    };
    progress.advance(w.bytes, stored, refused + left_out);
}
