//! The `hl7_messages` table: every HL7 v2 message received, sealed, with the
//! ACK it was answered with (migrations/2026-12-01-000003_hl7_messages).

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;

use super::schema::hl7_messages as hm;
use super::StoreError;
use crate::crypto::{BlindIndex, Ciphertext, Keyring, PhiBytes, RowBinding};
use crate::model::ResourceId;
use crate::tenant::TenantId;

/// AAD resource types of the two sealed columns, so a raw message can never be
/// opened as an ACK or moved to another row.
const RAW_TYPE: &str = "Hl7Message";
const ACK_TYPE: &str = "Hl7Ack";

/// Who sent a message: MSH-3 and MSH-4, the namespace of MSH-10.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender(pub String);

/// One message as received and answered.
pub struct NewMessage<'a> {
    pub id: ResourceId,
    pub received_at: DateTime<Utc>,
    pub sender: &'a Sender,
    pub control_id: &'a str,
    pub message_type: &'a str,
    pub peer: Option<&'a str>,
    pub raw: &'a [u8],
    pub ack_code: &'a str,
    pub ack: &'a [u8],
    pub error: Option<&'a str>,
    /// The keyed digest of the message's content (migration 000009).
    pub digest: &'a BlindIndex,
}

/// What is known of a message as received, before its outcome.
#[derive(Debug, Clone)]
pub struct Received {
    pub sender: Sender,
    pub control_id: String,
    pub message_type: String,
    pub peer: Option<String>,
}

impl Received {
    /// The row for this message with its outcome, received now.
    pub fn row<'a>(
        &'a self,
        raw: &'a [u8],
        digest: &'a BlindIndex,
        ack_code: &'a str,
        ack: &'a [u8],
        error: Option<&'a str>,
    ) -> NewMessage<'a> {
        NewMessage {
            id: ResourceId::generate(),
            received_at: Utc::now(),
            sender: &self.sender,
            control_id: &self.control_id,
            message_type: &self.message_type,
            peer: self.peer.as_deref(),
            raw,
            ack_code,
            ack,
            error,
            digest,
        }
    }
}

fn binding<'a>(tenant: &'a TenantId, kind: &'a str, id: &'a str) -> RowBinding<'a> {
    RowBinding {
        tenant: tenant.as_str(),
        resource_type: kind,
        id,
        version: 1,
    }
}

/// Stores a message. For an accepted one (AA) this runs inside the transaction
/// that applied it, and a unique violation means another delivery of the same
/// message won the race ([`StoreError::is_unique_violation`]).
#[tracing::instrument(skip_all, fields(id = %m.id, ack = m.ack_code))]
pub fn insert(
    conn: &mut PgConnection,
    keyring: &Keyring,
    tenant: &TenantId,
    m: &NewMessage<'_>,
) -> Result<(), StoreError> {
    let (key_id, raw) = keyring.seal(conn, &binding(tenant, RAW_TYPE, m.id.as_str()), m.raw)?;
    let (_, ack) = keyring.seal(conn, &binding(tenant, ACK_TYPE, m.id.as_str()), m.ack)?;
    diesel::insert_into(hm::table)
        .values((
            (
                hm::tenant_id.eq(tenant.as_str()),
                hm::id.eq(m.id.as_str()),
                hm::received_at.eq(m.received_at),
                hm::sender.eq(&m.sender.0),
                hm::control_id.eq(m.control_id),
                hm::message_type.eq(m.message_type),
            ),
            (
                hm::peer.eq(m.peer),
                hm::key_id.eq(key_id),
                hm::raw.eq(raw.0),
                hm::ack_code.eq(m.ack_code),
                hm::ack.eq(ack.0),
                hm::error.eq(m.error),
                hm::digest.eq(&m.digest.0),
            ),
        ))
        .execute(conn)?;
    Ok(())
}

/// Serialises deliveries of one (sender, control id) for the rest of the
/// transaction, so the duplicate check and the apply are one step.
pub fn lock_control_id(
    conn: &mut PgConnection,
    tenant: &TenantId,
    sender: &Sender,
    control_id: &str,
) -> Result<(), StoreError> {
    super::stmt::Stmt::new("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))")
        .bind::<Text, _>(format!("hl7|{tenant}|{}|{control_id}", sender.0))
        .execute(conn)?;
    Ok(())
}

/// What tells a stored message's content: its digest, or, for a row stored
/// before digests were kept (migration 000009), the raw message itself.
pub enum Content {
    Digest(BlindIndex),
    Raw(PhiBytes),
}

/// The accepted message with a sender and control id.
pub struct Accepted {
    /// The ACK frames it was answered with.
    pub ack: PhiBytes,
    pub content: Content,
}

/// The message accepted with this sender and control id, if any.
pub fn accepted(
    conn: &mut PgConnection,
    keyring: &Keyring,
    tenant: &TenantId,
    sender: &Sender,
    control_id: &str,
) -> Result<Option<Accepted>, StoreError> {
    let row = hm::table
        .filter(hm::tenant_id.eq(tenant.as_str()))
        .filter(hm::sender.eq(&sender.0))
        .filter(hm::control_id.eq(control_id))
        .filter(hm::ack_code.eq("AA"))
        .select((hm::id, hm::ack, hm::digest))
        .first::<(String, Vec<u8>, Option<Vec<u8>>)>(conn)
        .optional()?;
    let Some((id, ack, digest)) = row else {
        return Ok(None);
    };
    let ack = keyring.open(conn, &binding(tenant, ACK_TYPE, &id), &Ciphertext(ack))?;
    let content = match digest {
        Some(d) => Content::Digest(BlindIndex(d)),
        None => {
            let raw = hm::table
                .find((tenant.as_str(), id.as_str()))
                .select(hm::raw)
                .first::<Vec<u8>>(conn)?;
            Content::Raw(keyring.open(conn, &binding(tenant, RAW_TYPE, &id), &Ciphertext(raw))?)
        }
    };
    Ok(Some(Accepted { ack, content }))
}

/// One stored message, opened, for replay.
pub struct Stored {
    pub id: String,
    pub received_at: DateTime<Utc>,
    pub ack_code: String,
    pub raw: PhiBytes,
}

/// Messages received after `after` (by id, which is time-ordered), oldest
/// first, at most `limit`; only accepted ones unless `all`.
pub fn page(
    conn: &mut PgConnection,
    keyring: &Keyring,
    tenant: &TenantId,
    after: &str,
    all: bool,
    limit: i64,
) -> Result<Vec<Stored>, StoreError> {
    let mut q = hm::table
        .filter(hm::tenant_id.eq(tenant.as_str()))
        .filter(hm::id.gt(after))
        .into_boxed();
    if !all {
        q = q.filter(hm::ack_code.eq("AA"));
    }
    let rows = q
        .order(hm::id)
        .limit(limit)
        .select((hm::id, hm::received_at, hm::ack_code, hm::raw))
        .load::<(String, DateTime<Utc>, String, Vec<u8>)>(conn)?;
    rows.into_iter()
        .map(|(id, received_at, ack_code, raw)| {
            let raw = keyring.open(conn, &binding(tenant, RAW_TYPE, &id), &Ciphertext(raw))?;
            Ok(Stored {
                id,
                received_at,
                ack_code,
                raw,
            })
        })
        .collect()
}

/// What may be shown of a stored message without opening it: no PHI (the
/// sender and control id name systems and messages, not patients).
#[derive(Debug, Clone, diesel::Queryable)]
pub struct Summary {
    pub id: String,
    pub received_at: DateTime<Utc>,
    pub sender: String,
    pub control_id: String,
    pub message_type: String,
    pub ack_code: String,
    /// The value-free reason it was not applied.
    pub error: Option<String>,
    pub replay_code: Option<String>,
}

/// The newest `limit` messages, newest first (`fhirgate hl7 unrouted`).
pub fn summaries(
    conn: &mut PgConnection,
    tenant: &TenantId,
    limit: i64,
) -> Result<Vec<Summary>, StoreError> {
    Ok(hm::table
        .filter(hm::tenant_id.eq(tenant.as_str()))
        .order(hm::id.desc())
        .limit(limit)
        .select((
            hm::id,
            hm::received_at,
            hm::sender,
            hm::control_id,
            hm::message_type,
            hm::ack_code,
            hm::error,
            hm::replay_code,
        ))
        .load(conn)?)
}

/// One stored message, opened, and the outcome of its last replay.
pub fn opened(
    conn: &mut PgConnection,
    keyring: &Keyring,
    tenant: &TenantId,
    id: &str,
) -> Result<Option<(Stored, Option<String>)>, StoreError> {
    let row = hm::table
        .find((tenant.as_str(), id))
        .select((hm::received_at, hm::ack_code, hm::raw, hm::replay_code))
        .first::<(DateTime<Utc>, String, Vec<u8>, Option<String>)>(conn)
        .optional()?;
    let Some((received_at, ack_code, raw, replay_code)) = row else {
        return Ok(None);
    };
    let raw = keyring.open(conn, &binding(tenant, RAW_TYPE, id), &Ciphertext(raw))?;
    let stored = Stored {
        id: id.to_owned(),
        received_at,
        ack_code,
        raw,
    };
    Ok(Some((stored, replay_code)))
}

/// Records the outcome of a replay.
pub fn mark_replayed(
    conn: &mut PgConnection,
    tenant: &TenantId,
    id: &str,
    code: &str,
) -> Result<(), StoreError> {
    diesel::update(hm::table.find((tenant.as_str(), id)))
        .set((hm::replayed_at.eq(Utc::now()), hm::replay_code.eq(code)))
        .execute(conn)?;
    Ok(())
}

/// Re-encrypts up to `batch` messages sealed under a key other than `new_key`
/// (`fhirgate keys rotate`); returns how many. Call inside a transaction.
pub fn reencrypt_batch(
    conn: &mut PgConnection,
    keyring: &Keyring,
    tenant: &TenantId,
    new_key: i32,
    batch: i64,
) -> Result<usize, StoreError> {
    let rows = hm::table
        .filter(hm::tenant_id.eq(tenant.as_str()))
        .filter(hm::key_id.ne(new_key))
        .select((hm::id, hm::raw, hm::ack))
        .limit(batch)
        .for_update()
        .skip_locked()
        .load::<(String, Vec<u8>, Vec<u8>)>(conn)?;
    for (id, raw, ack) in &rows {
        let raw_b = binding(tenant, RAW_TYPE, id);
        let ack_b = binding(tenant, ACK_TYPE, id);
        let raw_plain = keyring.open(conn, &raw_b, &Ciphertext(raw.clone()))?;
        let ack_plain = keyring.open(conn, &ack_b, &Ciphertext(ack.clone()))?;
        let (key_id, raw_ct) = keyring.seal(conn, &raw_b, &raw_plain.0)?;
        let (_, ack_ct) = keyring.seal(conn, &ack_b, &ack_plain.0)?;
        diesel::update(hm::table.find((tenant.as_str(), id.as_str())))
            .set((
                hm::key_id.eq(key_id),
                hm::raw.eq(raw_ct.0),
                hm::ack.eq(ack_ct.0),
            ))
            .execute(conn)?;
    }
    Ok(rows.len())
}
