//! What the server knows of one served resource type, in one place: its name,
//! who may write it, where and how it is stored, which of its search values are
//! PHI, which references put it in a patient's compartment, and the rules of
//! its own. Every layer asks the [`Descriptor`] instead of naming types.

use chrono::{DateTime, Utc};
use fhirgate_validate::Violation;
use serde_json::{Map, Value};

use super::ResourceType;

/// The compartment whose members [`Descriptor::patient_refs`] names.
const COMPARTMENT: ResourceType = ResourceType::Patient;

/// One practitioner's time slot held by a resource: (practitioner reference
/// `Practitioner/[id]`, start, end), the rows of `appointment_bookings`.
pub type Booking = (String, DateTime<Utc>, DateTime<Utc>);

/// Where a type's resources are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// Every version in `resource_versions`, the current one pointed at by
    /// `resources`, search values in the generic index tables (so `_include`,
    /// `_revinclude`, chains and `$everything` reach it).
    Versioned,
    /// `audit_events`: one version each, append-only, searched through its
    /// projection columns and terms (docs/architecture.md, "Storage").
    AuditLog,
}

/// A reference whose target, when it is a Patient, puts the resource in that
/// patient's compartment: the R4 CompartmentDefinition's search parameter
/// `param` and the element path its expression names (`[type].[path]`).
#[derive(Debug)]
pub struct CompartmentRef {
    pub param: &'static str,
    /// Element names from the resource, dot-separated; arrays on the way are
    /// flattened (FHIRPath), and the last element is a Reference.
    pub path: &'static str,
}

/// How a type stands to the Patient compartment
/// (http://hl7.org/fhir/R4/compartmentdefinition-patient.html).
#[derive(Debug)]
pub struct PatientCompartment {
    /// The resource is a patient: it is the compartment's own (`Patient/[id]`).
    pub owner: bool,
    /// The references followed for the patients a resource is about.
    pub refs: &'static [CompartmentRef],
    /// Parameters the R4 CompartmentDefinition lists for the type that are
    /// deliberately not followed; the type's file says why.
    pub not_followed: &'static [&'static str],
}

/// One served resource type. Each lives in `model/types/<type>.rs`.
pub struct Descriptor {
    /// The R4 resource type name (`resourceType`, the URL segment).
    pub name: &'static str,
    /// Whether clients may create, update, patch and delete it; otherwise only
    /// the server writes it and clients read and search.
    pub client_writable: bool,
    /// Whether its versions can be read (vread, `_history`).
    pub has_history: bool,
    pub storage: Storage,
    /// Search parameters whose values identify or describe a person: stored
    /// and searched only as blind indexes (issue #2, "Field-level
    /// encryption"). `identifier` is PHI in every type ([`Descriptor::is_phi`]).
    pub phi_params: &'static [&'static str],
    pub compartment: PatientCompartment,
    /// Operations on the type (`[type]/$name`, `[type]/[id]/$name`), by name.
    pub operations: &'static [&'static str],
    /// Whether `Patient/$everything` returns resources of this type.
    pub in_everything: bool,
    /// The server's own business rules beyond the R4 invariants (422
    /// `invariant`, fhir/rules.rs).
    pub rules: fn(&Map<String, Value>) -> Vec<Violation>,
    /// The practitioner slots a resource holds, kept in `appointment_bookings`
    /// whose exclusion constraint refuses double booking (store/bookings.rs).
    pub bookings: Option<fn(&Value) -> Vec<Booking>>,
    /// Choice elements `[x]` allowing a Reference or a CodeableConcept:
    /// (reference element, concept element). Import replaces a reference to a
    /// left-out resource with that resource's `code` (import/filter.rs).
    pub coded_references: &'static [(&'static str, &'static str)],
}

/// Rules of a type that has none beyond R4's.
pub fn no_rules(_: &Map<String, Value>) -> Vec<Violation> {
    Vec::new()
}

impl Descriptor {
    /// True when values of search parameter `param` are PHI: every
    /// `identifier` (an MRN, accession or order number can single out a
    /// patient), and the type's [`Descriptor::phi_params`].
    pub fn is_phi(&self, param: &str) -> bool {
        param == "identifier" || self.phi_params.contains(&param)
    }

    /// Whether a write also maintains `appointment_bookings` (with statements
    /// of its own, after its practitioners' locks: store/bookings.rs).
    pub fn writes_bookings(&self) -> bool {
        self.bookings.is_some()
    }

    /// The practitioner slots `resource` holds (none for a type without bookings).
    pub fn slots(&self, resource: &Value) -> Vec<Booking> {
        self.bookings.map(|f| f(resource)).unwrap_or_default()
    }

    /// Whether its search values are in the generic index tables, which
    /// `_include`, `_revinclude` and chains read.
    pub fn indexed(&self) -> bool {
        self.storage == Storage::Versioned
    }

    /// `Patient/[id]` when this type owns the patient compartment.
    pub fn own_patient(&self, id: &str) -> Option<String> {
        self.compartment
            .owner
            .then(|| format!("{}/{id}", self.name))
    }

    /// The patients `resource` (with id `id`, when known) is about, for the
    /// audit entity: the resource itself when it is a patient, and the Patient
    /// targets of its compartment references, relative or absolute, in
    /// document order with repeats in a row dropped.
    pub fn patient_refs(&self, id: Option<&str>, resource: &Value) -> Vec<String> {
        let mut out: Vec<String> = id.and_then(|i| self.own_patient(i)).into_iter().collect();
        for r in self.compartment.refs {
            let mut at: Vec<&Value> = vec![resource];
            for step in r.path.split('.') {
                at = at
                    .into_iter()
                    .filter_map(|v| v.get(step))
                    .flat_map(|v| match v {
                        Value::Array(a) => a.iter().collect::<Vec<_>>(),
                        one => vec![one],
                    })
                    .collect();
            }
            out.extend(
                at.into_iter()
                    .filter_map(|v| v.get("reference").and_then(Value::as_str))
                    .map(str::to_owned),
            );
        }
        // `Patient/x`, or an absolute `.../Patient/x`.
        let (lead, inner) = (format!("{COMPARTMENT}/"), format!("/{COMPARTMENT}/"));
        out.retain(|r| r.starts_with(&lead) || r.contains(&inner));
        out.dedup();
        out
    }
}
