//! `fhirgate keys rotate|status`.
//!
//! Rotation: a new data key becomes active (running gateways pick it up within
//! the keyring's refresh interval), then every resource version sealed under an
//! older key is re-encrypted in small transactions, and so is every stored HL7
//! v2 message. Reads work throughout: a row
//! is readable under its old key until the moment its new ciphertext commits.
//! AuditEvents are append-only and keep their original key; that key stays in
//! `data_keys` (wrapped), so they remain readable.

use std::sync::Arc;

use diesel::prelude::*;
use diesel::sql_types::{Bytea, Integer, Text};

use crate::cli::KeysCommand;
use crate::config::Settings;
use crate::crypto::keyring::{ACTIVE_TTL, PURPOSE_DATA};
use crate::crypto::{Ciphertext, Keyring, MasterKey, RowBinding};
use crate::store::{keys, StoreError};
use crate::tenant::TenantId;

#[derive(QueryableByName)]
struct OldRow {
    #[diesel(sql_type = Text)]
    resource_type: String,
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Integer)]
    version_id: i32,
    #[diesel(sql_type = Bytea)]
    body: Vec<u8>,
}

pub async fn run(settings: Settings, command: KeysCommand) -> anyhow::Result<()> {
    let master =
        MasterKey::load_or_generate(settings.master_key_file.as_deref(), &settings.data_dir)?;
    let db = crate::store::bootstrap::open(&settings).await?;
    let keyring = Arc::new(Keyring::new(master));
    db.migrate(keyring.clone()).await?;
    let tenant = settings.tenant.clone();
    let db2 = crate::runtime::command_db(&db, &settings).await?;
    let result = tokio::task::spawn_blocking(move || match command {
        KeysCommand::Rotate { batch } => rotate(&db2, &keyring, &tenant, batch),
        KeysCommand::Status => status(&db2, &tenant),
        KeysCommand::RotateSigning => Ok(()),
    })
    .await?;
    db.shutdown().await;
    result
}

fn status(db: &crate::store::Db, tenant: &TenantId) -> anyhow::Result<()> {
    db.run_sync(|conn| {
        for (key_id, purpose, active, created) in keys::list(conn, tenant.as_str())? {
            let n: i64 = diesel::sql_query(
                "SELECT count(*) AS n FROM resource_versions WHERE tenant_id = $1 AND key_id = $2",
            )
            .bind::<Text, _>(tenant.as_str())
            .bind::<Integer, _>(key_id)
            .get_result::<Count>(conn)?
            .n;
            println!(
                "key {key_id:>4}  {purpose:<5}  {}  created {created}  versions {n}",
                if active { "active " } else { "retired" }
            );
        }
        Ok::<_, StoreError>(())
    })?;
    Ok(())
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// The PostgreSQL advisory lock a rotation holds from start to end (an
/// arbitrary constant, "fhkeyrot"), so that two at once do not both create a
/// key: the second used to fail on `data_keys`' primary key with a raw unique
/// violation (issue #15). A session lock, so it goes with its connection if
/// the process dies (https://www.postgresql.org/docs/15/explicit-locking.html#ADVISORY-LOCKS).
pub const ROTATION_LOCK: i64 = 0x6668_6b65_7972_6f74;

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    locked: bool,
}

/// Takes [`ROTATION_LOCK`] on a connection of its own (held while it lives),
/// or says that another rotation holds it.
fn lock_rotation(db: &crate::store::Db) -> anyhow::Result<PgConnection> {
    use anyhow::Context;
    let mut conn = PgConnection::establish(db.url()).context("connecting for the rotation lock")?;
    let got = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS locked")
        .bind::<diesel::sql_types::BigInt, _>(ROTATION_LOCK)
        .get_result::<Locked>(&mut conn)
        .context("taking the rotation lock")?;
    if !got.locked {
        anyhow::bail!(
            "another key rotation is running (it holds the database's advisory lock {ROTATION_LOCK}); \
             wait for it to finish, then run `fhirgate keys status`"
        );
    }
    Ok(conn)
}

fn rotate(
    db: &crate::store::Db,
    keyring: &Keyring,
    tenant: &TenantId,
    batch: i64,
) -> anyhow::Result<()> {
    let _lock = lock_rotation(db)?;
    let new_key = db.run_sync(|conn| {
        keyring.ensure_tenant(conn, tenant.as_str())?;
        conn.transaction(|conn| keyring.create_key(conn, tenant.as_str(), PURPOSE_DATA, true))
    })?;
    println!("key {new_key} is now the active data key; re-encrypting older versions");
    // Gateways that cached the previous active key keep using it for up to
    // ACTIVE_TTL; sweep until a pass finds nothing, and at least once after that TTL.
    let started = std::time::Instant::now();
    let mut total = 0u64;
    loop {
        let n = db.run_sync(|conn| reencrypt_batch(conn, keyring, tenant, new_key, batch))?
            + db.run_sync(|conn| {
                conn.transaction(|conn| {
                    crate::store::hl7::reencrypt_batch(conn, keyring, tenant, new_key, batch)
                })
            })?;
        total += n as u64;
        if n == 0 {
            if started.elapsed() > ACTIVE_TTL * 2 {
                break;
            }
            std::thread::sleep(ACTIVE_TTL);
        }
    }
    println!("re-encrypted {total} versions and HL7 messages under key {new_key}");
    Ok(())
}

fn reencrypt_batch(
    conn: &mut PgConnection,
    keyring: &Keyring,
    tenant: &TenantId,
    new_key: i32,
    batch: i64,
) -> Result<usize, StoreError> {
    conn.transaction(|conn| {
        let rows: Vec<OldRow> = diesel::sql_query(
            "SELECT resource_type, id, version_id, body FROM resource_versions \
             WHERE tenant_id = $1 AND key_id IS NOT NULL AND key_id <> $2 LIMIT $3 FOR UPDATE SKIP LOCKED",
        )
        .bind::<Text, _>(tenant.as_str())
        .bind::<Integer, _>(new_key)
        .bind::<diesel::sql_types::BigInt, _>(batch)
        .load(conn)?;
        for r in &rows {
            let binding = RowBinding { tenant: tenant.as_str(), resource_type: &r.resource_type, id: &r.id, version: r.version_id };
            let plain = keyring.open(conn, &binding, &Ciphertext(r.body.clone()))?;
            let (key_id, ct) = keyring.seal(conn, &binding, &plain.0)?;
            diesel::sql_query(
                "UPDATE resource_versions SET key_id = $5, body = $6 \
                 WHERE tenant_id = $1 AND resource_type = $2 AND id = $3 AND version_id = $4",
            )
            .bind::<Text, _>(tenant.as_str())
            .bind::<Text, _>(&r.resource_type)
            .bind::<Text, _>(&r.id)
            .bind::<Integer, _>(r.version_id)
            .bind::<Integer, _>(key_id)
            .bind::<Bytea, _>(&ct.0)
            .execute(conn)?;
        }
        Ok(rows.len())
    })
}
