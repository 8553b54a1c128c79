//! Domain newtypes shared by every layer: which resource types are served
//! (each with its [`Descriptor`], one file per type in `types/`), and
//! validated resource ids. The lowest layer: nothing here imports from
//! store/, audit/ or fhir/, which all ask the descriptors.

use std::fmt;

mod descriptor;
#[cfg(test)]
mod tests;

pub use descriptor::{no_rules, Booking, CompartmentRef, Descriptor, PatientCompartment, Storage};

/// Declares the served types from one table: the [`ResourceType`] enum, the
/// module `types` with one file per type (`types/<module>.rs`, holding its
/// `DESCRIPTOR`), [`ResourceType::ALL`] and [`ResourceType::descriptor`]. A
/// type without a descriptor file does not compile.
macro_rules! served_types {
    ($($variant:ident => $module:ident),+ $(,)?) => {
        /// The resource types this gateway serves (README, "Served resource types").
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ResourceType {
            $($variant),+
        }

        /// One file per served type, each with its `DESCRIPTOR`.
        pub mod types {
            $(pub mod $module;)+
        }

        impl ResourceType {
            /// Every served type, in the table's order (which is also `Ord`'s).
            pub const ALL: [ResourceType; [$(stringify!($variant)),+].len()] =
                [$(ResourceType::$variant),+];

            /// What the server knows of this type.
            pub const fn descriptor(self) -> &'static Descriptor {
                match self {
                    $(ResourceType::$variant => &types::$module::DESCRIPTOR),+
                }
            }
        }

        /// The variants' own names, which the descriptors' must equal.
        #[cfg(test)]
        const VARIANT_NAMES: &[&str] = &[$(stringify!($variant)),+];
    };
}

served_types! {
    Appointment => appointment,
    AuditEvent => audit_event,
    MedicationRequest => medication_request,
    Observation => observation,
    Patient => patient,
    Practitioner => practitioner,
}

impl ResourceType {
    /// The R4 type name.
    pub const fn as_str(self) -> &'static str {
        self.descriptor().name
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Whether clients may write it ([`Descriptor::client_writable`]).
    pub fn client_writable(self) -> bool {
        self.descriptor().client_writable
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
