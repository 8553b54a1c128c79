//! AuditEvents for every FHIR interaction, shaped after IHE Basic Audit Log
//! Patterns (BALP, https://profiles.ihe.net/ITI/BALP/) on R4 AuditEvent.
//!
//! Writes (create, update, delete) commit their AuditEvent in the same
//! transaction as the change ([`row_in_tx`]): no change without its record.
//! Reads, searches and failed interactions are queued to [`AuditSink`], a
//! background writer that commits them in batches, so a read costs no extra
//! commit on its own path. The queue is bounded and applies back-pressure rather
//! than dropping records; a clean shutdown drains it.

mod event;
pub mod refusals;
mod sink;
pub mod terms;

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;

pub use event::patient_refs;
pub use sink::{AuditSink, AuditWriter};

use crate::crypto::{BlindIndexer, Keyring};
use crate::model::ResourceId;
use crate::store::{self, StoreError};
use crate::tenant::TenantId;

/// The RESTful interaction (http://hl7.org/fhir/R4/valueset-type-restful-interaction.html).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Interaction {
    Read,
    Vread,
    Update,
    Patch,
    Delete,
    HistoryInstance,
    HistoryType,
    HistorySystem,
    Create,
    SearchType,
    SearchSystem,
    Capabilities,
    Transaction,
    Batch,
    Operation,
}

impl Interaction {
    pub fn code(self) -> &'static str {
        match self {
            Interaction::Read => "read",
            Interaction::Vread => "vread",
            Interaction::Update => "update",
            Interaction::Patch => "patch",
            Interaction::Delete => "delete",
            Interaction::HistoryInstance => "history-instance",
            Interaction::HistoryType => "history-type",
            Interaction::HistorySystem => "history-system",
            Interaction::Create => "create",
            Interaction::SearchType => "search-type",
            Interaction::SearchSystem => "search-system",
            Interaction::Capabilities => "capabilities",
            Interaction::Transaction => "transaction",
            Interaction::Batch => "batch",
            Interaction::Operation => "operation",
        }
    }

    /// AuditEvent.action (http://hl7.org/fhir/R4/valueset-audit-event-action.html):
    /// C create, R read/view, U update, D delete, E execute (search, capabilities, operations).
    pub fn action(self) -> &'static str {
        match self {
            Interaction::Create => "C",
            Interaction::Read
            | Interaction::Vread
            | Interaction::HistoryInstance
            | Interaction::HistoryType
            | Interaction::HistorySystem => "R",
            Interaction::Update | Interaction::Patch => "U",
            Interaction::Delete => "D",
            _ => "E",
        }
    }
}

/// What is known about one interaction, filled in as it proceeds. Holds no PHI
/// except inside `query` and `patients`, which only ever reach the encrypted body.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub interaction: Interaction,
    pub resource_type: Option<String>,
    pub id: Option<String>,
    pub version: Option<i32>,
    /// The query string of a search or conditional interaction.
    pub query: Option<String>,
    /// References ("Patient/123") of the patients the interaction concerned.
    pub patients: Vec<String>,
    pub client_addr: Option<String>,
    pub server_addr: Option<String>,
    /// The user the client acts for: their `fhirUser` reference, or
    /// `user:<name>` (issue #17; never the token).
    pub user: Option<String>,
    /// The OAuth client's `client_id`.
    pub client_id: Option<String>,
    /// HTTP status of the response.
    pub status: u16,
    /// Set once the record has been committed (inside the write transaction).
    pub stored: bool,
    /// Set on the one record that stands for several refusals over a rate
    /// limit (audit/refusals.rs).
    pub repeated: Option<refusals::Repeated>,
}

impl AuditRecord {
    pub fn new(interaction: Interaction) -> Self {
        Self {
            interaction,
            resource_type: None,
            id: None,
            version: None,
            query: None,
            patients: Vec::new(),
            client_addr: None,
            server_addr: None,
            user: None,
            client_id: None,
            status: 0,
            stored: false,
            repeated: None,
        }
    }
}

/// The stored form of a record: its AuditEvent JSON and search projection.
/// The terms come from the very JSON stored, so a search finds what a read shows.
fn to_row(
    ix: &BlindIndexer,
    record: &AuditRecord,
    recorded: DateTime<Utc>,
) -> Result<store::audit::AuditRow, StoreError> {
    let id = ResourceId::generate();
    let instant = crate::time::instant(recorded);
    let resource = event::build(record, &id, &instant);
    let terms = terms::encode(ix, &terms::of_event(&resource));
    let body = serde_json::to_vec(&resource).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let entities = match (&record.resource_type, &record.id) {
        (Some(t), Some(i)) => vec![format!("{t}/{i}")],
        _ => Vec::new(),
    };
    Ok(store::audit::AuditRow {
        id,
        recorded,
        body,
        type_code: "rest".into(),
        subtype: record.interaction.code().into(),
        action: record.interaction.action().into(),
        outcome: event::outcome(record.status).into(),
        entities,
        patients: record.patients.iter().map(|p| event::relative(p)).collect(),
        agents: record
            .user
            .iter()
            .filter(|u| !u.starts_with("user:"))
            .map(|u| event::relative(u))
            .collect(),
        address: record.client_addr.clone(),
        terms,
    })
}

/// Stores a batch of records in one statement (the background writer's path).
pub fn store_batch(
    conn: &mut PgConnection,
    keyring: &Keyring,
    tenant: &TenantId,
    records: &[AuditRecord],
) -> Result<(), StoreError> {
    let ix = keyring.indexer(conn, tenant.as_str())?;
    let rows = records
        .iter()
        .map(|r| to_row(&ix, r, crate::time::now_ms()))
        .collect::<Result<Vec<_>, _>>()?;
    store::audit::insert_many(conn, keyring, tenant, rows)
}

/// Stores several tenants' records in one statement (the background writer's
/// path when a batch holds more than one tenant's); `conn` is in the
/// writer's transaction.
pub fn store_tenants(
    conn: &mut PgConnection,
    keyring: &Keyring,
    groups: &[(TenantId, Vec<AuditRecord>)],
) -> Result<(), StoreError> {
    let mut keys = store::keys::TenantKeys::new(conn);
    let mut rows = Vec::with_capacity(groups.len());
    for (tenant, records) in groups {
        let ix = keyring.indexer(&mut keys, tenant.as_str())?;
        let tenant_rows = records
            .iter()
            .map(|r| to_row(&ix, r, crate::time::now_ms()))
            .collect::<Result<Vec<_>, _>>()?;
        rows.push((tenant, tenant_rows));
    }
    store::audit::insert_tenants(&mut keys, keyring, rows)
}

/// The row of the AuditEvent for `record`, for the caller to commit with the
/// change it records (writes commit their AuditEvent in their transaction).
pub fn row_in_tx(
    conn: &mut PgConnection,
    keyring: &Keyring,
    tenant: &TenantId,
    record: &AuditRecord,
    recorded: DateTime<Utc>,
) -> Result<store::audit::AuditRow, StoreError> {
    let ix = keyring.indexer(conn, tenant.as_str())?;
    to_row(&ix, record, recorded)
}
