//! The background audit writer: a bounded queue drained by one thread that
//! commits up to [`BATCH`] AuditEvents per transaction.

use std::sync::Arc;
use std::time::Duration;

use diesel::Connection;
use tokio::sync::mpsc;

use super::{store_batch, store_tenants, AuditRecord};
use crate::crypto::Keyring;
use crate::store::Db;
use crate::tenant::TenantId;

const QUEUE: usize = 10_000;
const BATCH: usize = 256;
/// How long the writer waits for more records once a batch is started and not
/// full. Without it, under read load, the writer committed (a WAL flush) every
/// 54 reads, every 11 when the machine was busier; with it every ~170
/// (pg_stat_wal, docs/performance.md, session 6). Throughput did not move on
/// this machine, whose flushes are cheap; on a disk whose flush takes
/// milliseconds it bounds the flush rate. Records wait this much longer in
/// memory, where a crash could already lose the queued ones; the reads they
/// describe do not wait for them.
const LINGER: Duration = Duration::from_millis(3);

/// A handle on the one audit writer, for one tenant: every tenant's records
/// share the writer's queue and thread ([`AuditSink::for_tenant`]); a batch
/// is one transaction and one INSERT, which declares the batch's tenants
/// (row-level security checks every row against them).
#[derive(Clone)]
pub struct AuditSink {
    tx: mpsc::Sender<(TenantId, AuditRecord)>,
    tenant: TenantId,
}

pub struct AuditWriter {
    handle: std::thread::JoinHandle<()>,
}

impl AuditWriter {
    /// Waits until every queued record is committed. Call after every sender
    /// (the HTTP server) is gone.
    pub fn join(self) {
        if self.handle.join().is_err() {
            tracing::error!("audit writer thread panicked");
        }
    }
}

impl AuditSink {
    /// Starts the writer; the handle records for `tenant`.
    pub fn start(db: Db, keyring: Arc<Keyring>, tenant: TenantId) -> (Self, AuditWriter) {
        let (tx, mut rx) = mpsc::channel::<(TenantId, AuditRecord)>(QUEUE);
        let handle = std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || {
                let mut batch = Vec::with_capacity(BATCH);
                while let Some(first) = rx.blocking_recv() {
                    batch.push(first);
                    drain(&mut rx, &mut batch);
                    if batch.len() < BATCH {
                        std::thread::sleep(LINGER);
                        drain(&mut rx, &mut batch);
                    }
                    write_batches(&db, &keyring, &mut batch);
                }
            });
        let handle = match handle {
            Ok(h) => h,
            Err(e) => {
                tracing::error!(error = %e, "could not start the audit writer thread");
                std::thread::spawn(|| {})
            }
        };
        (Self { tx, tenant }, AuditWriter { handle })
    }

    /// The same writer, recording for `tenant`.
    pub fn for_tenant(&self, tenant: &TenantId) -> Self {
        Self {
            tx: self.tx.clone(),
            tenant: tenant.clone(),
        }
    }

    /// Queues a record; waits (back-pressure) when the queue is full.
    pub async fn record(&self, record: AuditRecord) {
        if self.tx.send((self.tenant.clone(), record)).await.is_err() {
            tracing::error!("audit writer is gone; an audit record was not stored");
        }
    }
}

/// Moves queued records into `batch`, up to [`BATCH`], without waiting.
fn drain(
    rx: &mut mpsc::Receiver<(TenantId, AuditRecord)>,
    batch: &mut Vec<(TenantId, AuditRecord)>,
) {
    while batch.len() < BATCH {
        match rx.try_recv() {
            Ok(r) => batch.push(r),
            Err(_) => break,
        }
    }
}

/// Stores a batch in one transaction and one INSERT statement, each row
/// checked by row-level security: against the transaction's tenant, or for
/// a batch of several tenants against the tenants it declares
/// (`store_tenants`).
/// One transaction per tenant was one commit (a WAL flush) per tenant per
/// batch: with reads spread over 200 tenants a batch became ~200 commits of
/// one or two records, the writer fell behind and its full queue held the
/// reads back; one transaction with a set_config and an INSERT per tenant
/// was still ~2 statements per record (docs/performance.md, issue #18).
fn write_batches(db: &Db, keyring: &Keyring, batch: &mut Vec<(TenantId, AuditRecord)>) {
    // Grouped by a stable sort, so each tenant's records keep the order they
    // came in: linear in the batch, where finding each record's group was a
    // search of the groups so far (200 of them with reads spread over 200
    // clinics). Inserting in key order made no measurable difference to the
    // INSERT itself (docs/performance.md, session 14).
    batch.sort_by(|(a, _), (b, _)| a.as_str().cmp(b.as_str()));
    let mut groups: Vec<(TenantId, Vec<AuditRecord>)> = Vec::new();
    for (tenant, record) in batch.drain(..) {
        match groups.last_mut() {
            Some((t, records)) if *t == tenant => records.push(record),
            _ => groups.push((tenant, vec![record])),
        }
    }
    write_groups(db, keyring, &groups);
}

fn write_groups(db: &Db, keyring: &Keyring, groups: &[(TenantId, Vec<AuditRecord>)]) {
    let mut attempt = 0;
    loop {
        let result = match groups {
            // One tenant: a transaction bound to it, as any other unit of work.
            [(tenant, records)] => db
                .for_tenant(tenant)
                .run_sync(|conn| store_batch(conn, keyring, tenant, records)),
            _ => db.run_sync(|conn| conn.transaction(|conn| store_tenants(conn, keyring, groups))),
        };
        match result {
            Ok(()) => break,
            // A passing fault (failover, restart) is retried for ~10 s; after that the
            // records are reported lost rather than holding the queue forever.
            Err(e) if attempt < 8 => {
                attempt += 1;
                // An outage is logged once, by the pool (src/store/health.rs),
                // which may learn of it only after this batch's failure.
                if db.is_down() || e.is_unavailable() {
                    tracing::debug!(error = %e, attempt, "audit batch failed; retrying");
                } else {
                    tracing::warn!(error = %e, attempt, "audit batch failed; retrying");
                }
                std::thread::sleep(Duration::from_millis(250 * attempt));
            }
            Err(e) => {
                let lost: usize = groups.iter().map(|(_, r)| r.len()).sum();
                tracing::error!(error = %e, lost, "audit batch could not be stored");
                break;
            }
        }
    }
}
