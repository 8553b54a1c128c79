//! Domain newtypes shared by every layer: which resource types are served, and
//! validated resource ids.

use std::fmt;

/// The resource types this gateway serves (README, "Served resource types").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceType {
    Appointment,
    AuditEvent,
    MedicationRequest,
    Observation,
    Patient,
    Practitioner,
}

impl ResourceType {
    pub const ALL: [ResourceType; 6] = [
        ResourceType::Appointment,
        ResourceType::AuditEvent,
        ResourceType::MedicationRequest,
        ResourceType::Observation,
        ResourceType::Patient,
        ResourceType::Practitioner,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::Appointment => "Appointment",
            ResourceType::AuditEvent => "AuditEvent",
            ResourceType::MedicationRequest => "MedicationRequest",
            ResourceType::Observation => "Observation",
            ResourceType::Patient => "Patient",
            ResourceType::Practitioner => "Practitioner",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// AuditEvents are written by the server only: clients may read and search them
    /// (issue #2, "AuditEvent: read and type-search only").
    pub fn client_writable(self) -> bool {
        self != ResourceType::AuditEvent
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A FHIR logical id: `[A-Za-z0-9\-\.]{1,64}` (http://hl7.org/fhir/R4/datatypes.html#id).
/// Validated on construction, so a `ResourceId` is always safe in URLs and SQL binds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceId(String);

impl ResourceId {
    pub fn parse(s: &str) -> Option<Self> {
        fhirgate_validate::is_valid_id(s).then(|| Self(s.to_owned()))
    }

    /// A new server-assigned id: a UUIDv7 (RFC 9562), collision-free across
    /// processes and, with 74 random bits, not guessable from its neighbours.
    /// Being time-ordered, new ids land at the right edge of every btree keyed on
    /// them instead of on random pages, which cut the WAL written per create (each
    /// first touch of a page after a checkpoint logs the whole page).
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_ids() {
        assert_eq!(ResourceType::parse("Patient"), Some(ResourceType::Patient));
        assert_eq!(ResourceType::parse("patient"), None);
        assert!(!ResourceType::AuditEvent.client_writable());
        assert!(ResourceId::parse("a-B.9").is_some());
        assert!(ResourceId::parse("").is_none());
        assert!(ResourceId::parse("a/b").is_none());
        assert!(ResourceId::parse(&"x".repeat(65)).is_none());
        assert!(ResourceId::parse(&"x".repeat(64)).is_some());
    }
}
