//! The messages no tenant claimed (issue #18), kept raw under the server-level
//! scope `_server` (`router.rs`), for the operator: `fhirgate hl7 unrouted`
//! lists them without opening them (no PHI: id, time, sender, control id,
//! type, reason), and `fhirgate hl7 replay --tenant SLUG --unrouted ID`
//! delivers chosen ones to a tenant, one id at a time on purpose: moving a
//! clinic's records into another by mistake is the failure to avoid.

use super::ingest::Ingestor;
use super::replay::ReplaySummary;
use crate::crypto::Keyring;
use crate::store::hl7 as messages;
use crate::store::Db;
use crate::tenant::TenantId;

#[derive(Debug, Clone, clap::Args)]
pub struct UnroutedArgs {
    /// Most messages listed, newest first.
    #[arg(long, default_value_t = 100)]
    pub limit: i64,
}

/// `fhirgate hl7 unrouted`: reads the plaintext columns only, so it needs no
/// master key.
pub async fn command(settings: crate::config::Settings, args: UnroutedArgs) -> anyhow::Result<()> {
    let db = crate::store::bootstrap::open(&settings).await?;
    let server = TenantId::server();
    let limit = args.limit.max(1);
    let rows = db
        .for_tenant(&server)
        .run(move |conn| messages::summaries(conn, &TenantId::server(), limit))
        .await;
    db.shutdown().await;
    let rows = rows?;
    println!(
        "{:<26} {:<25} {:<24} {:<20} {:<12} {:<8} REASON",
        "ID", "RECEIVED", "SENDER", "CONTROL ID", "TYPE", "REPLAYED"
    );
    for r in &rows {
        println!(
            "{:<26} {:<25} {:<24} {:<20} {:<12} {:<8} {}",
            r.id,
            r.received_at.format("%Y-%m-%dT%H:%M:%SZ"),
            r.sender,
            r.control_id,
            r.message_type,
            r.replay_code.as_deref().unwrap_or("-"),
            r.error.as_deref().unwrap_or(r.ack_code.as_str()),
        );
    }
    if rows.is_empty() {
        println!("(no message is waiting for a tenant)");
    }
    Ok(())
}

/// Delivers the unrouted messages `ids` to `ingest`'s tenant as if received
/// for it (header check, duplicate check, mapping, one transaction, its own
/// stored row and ACK), and records the outcome on the server-level row.
/// A message delivered before is skipped. `server_db`: unbound (the owner's
/// login).
pub async fn deliver(
    ingest: &Ingestor,
    server_db: &Db,
    keyring: &std::sync::Arc<Keyring>,
    ids: &[String],
) -> anyhow::Result<ReplaySummary> {
    let server = TenantId::server();
    let db = server_db.for_tenant(&server);
    let mut summary = ReplaySummary::default();
    for id in ids {
        let (k, i) = (keyring.clone(), id.clone());
        let found = db
            .run(move |conn| messages::opened(conn, &k, &TenantId::server(), &i))
            .await?;
        let Some((stored, replayed)) = found else {
            anyhow::bail!("there is no unrouted message {id} (see `fhirgate hl7 unrouted`)");
        };
        if let Some(code) = replayed {
            println!("{id}: delivered before ({code}); skipped");
            summary.skipped += 1;
            continue;
        }
        let frames = ingest
            .message(stored.raw.0.to_vec(), Some("replay".into()), None)
            .await?;
        let code = outcome_of(&frames);
        let i = id.clone();
        db.run(move |conn| messages::mark_replayed(conn, &TenantId::server(), &i, code))
            .await?;
        println!("{id}: {code} for {}", ingest.tenant);
        if code == "AA" {
            summary.applied += 1;
        } else {
            summary.failed += 1;
        }
    }
    Ok(summary)
}

/// The outcome the ACK frames say: MSA-1 of the last one (the application
/// ACK, or the accept ACK alone where MSH-16 asked for none: CA counts as AA,
/// CE as AE, CR as AR).
fn outcome_of(frames: &[Vec<u8>]) -> &'static str {
    let msa = frames
        .last()
        .and_then(|f| fhirgate_hl7::parse(f).ok())
        .map(|m| {
            m.segments
                .iter()
                .find(|s| s.name == "MSA")
                .map(|s| s.get(1, 1).to_owned())
                .unwrap_or_default()
        })
        .unwrap_or_default();
    match msa.get(1..) {
        Some("A") => "AA",
        Some("E") => "AE",
        _ => "AR",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_outcome_is_msa_1_of_the_last_frame() {
        let ack = |code: &str| {
            format!("MSH|^~\\&|GW|GW|LAB|HOSP|20240101120000||ACK^A01|X1|P|2.5.1\rMSA|{code}|C1\r")
                .into_bytes()
        };
        assert_eq!(super::outcome_of(&[ack("AA")]), "AA");
        assert_eq!(super::outcome_of(&[ack("CA"), ack("AE")]), "AE");
        assert_eq!(super::outcome_of(&[ack("CA")]), "AA");
        assert_eq!(super::outcome_of(&[ack("AR")]), "AR");
        assert_eq!(super::outcome_of(&[]), "AR");
    }
}
