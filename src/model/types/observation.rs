//! Observation (http://hl7.org/fhir/R4/observation.html).
//!
//! Patient compartment (http://hl7.org/fhir/R4/compartmentdefinition-patient.html,
//! `schemas/compartmentdefinition-patient.json`): `subject` and `performer`.
//! The audit entity follows `subject` only: a Patient as performer (a
//! self-reported value) names who recorded it, not whom it is about, and the
//! audit trail has always named the subject alone. `$everything` follows both
//! (it reads the CompartmentDefinition itself).

use crate::model::{no_rules, CompartmentRef, Descriptor, PatientCompartment, Storage};

pub static DESCRIPTOR: Descriptor = Descriptor {
    name: "Observation",
    client_writable: true,
    has_history: true,
    storage: Storage::Versioned,
    // A string result (an OBX of type ST/TX/FT) is free text about the patient.
    phi_params: &["value-string", "code-value-string"],
    compartment: PatientCompartment {
        owner: false,
        refs: &[CompartmentRef {
            param: "subject",
            path: "subject",
        }],
        not_followed: &["performer"],
    },
    operations: &[],
    in_everything: true,
    rules: no_rules,
    bookings: None,
    coded_references: &[],
};
