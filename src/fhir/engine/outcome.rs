//! What the engine answers: a typed outcome, never an HTTP status. The HTTP
//! adapter renders it (status, ETag, Location, Prefer: return=); the HL7
//! listener and `fhirgate import` read what they need from it.

use chrono::{DateTime, Utc};

use crate::model::{ResourceId, ResourceType};

/// One version of a resource, as stored (`meta` filled in).
#[derive(Debug, Clone)]
pub struct Current {
    pub rtype: ResourceType,
    pub id: ResourceId,
    pub version_id: i32,
    pub last_updated: DateTime<Utc>,
    /// The resource's JSON.
    pub body: Vec<u8>,
}

#[derive(Debug)]
pub enum Outcome {
    /// read or vread: the version asked for.
    Read(Current),
    /// A conditional read whose version the client already has (http.html#cread).
    NotModified { version_id: i32 },
    /// create, update, patch or their conditional forms wrote a version;
    /// `created` when it brought the resource into existence.
    Written { current: Current, created: bool },
    /// A conditional create whose criteria matched one resource: nothing written.
    Matched(Current),
    /// delete: the tombstone's version, or None when there was nothing to
    /// delete (already deleted, or a conditional delete matching nothing).
    Deleted { version_id: Option<i32> },
    /// A searchset, history, transaction-response or batch-response Bundle,
    /// or the CapabilityStatement: JSON.
    Document(Vec<u8>),
}

impl Outcome {
    /// The REST status this outcome stands for, recorded in its AuditEvent
    /// (BALP records the interaction's result the client saw).
    pub fn audit_status(&self) -> u16 {
        match self {
            Outcome::Read(_) | Outcome::Matched(_) | Outcome::Document(_) => 200,
            Outcome::NotModified { .. } => 304,
            Outcome::Written { created: true, .. } => 201,
            Outcome::Written { created: false, .. } => 200,
            Outcome::Deleted { .. } => 204,
        }
    }
}
