//! MedicationRequest (http://hl7.org/fhir/R4/medicationrequest.html).
//!
//! Patient compartment (http://hl7.org/fhir/R4/compartmentdefinition-patient.html,
//! `schemas/compartmentdefinition-patient.json`): `subject`, followed as R4 says.

use crate::model::{no_rules, CompartmentRef, Descriptor, PatientCompartment, Storage};

pub static DESCRIPTOR: Descriptor = Descriptor {
    name: "MedicationRequest",
    client_writable: true,
    has_history: true,
    storage: Storage::Versioned,
    phi_params: &[],
    compartment: PatientCompartment {
        owner: false,
        refs: &[CompartmentRef {
            param: "subject",
            path: "subject",
        }],
        not_followed: &[],
    },
    operations: &[],
    in_everything: true,
    rules: no_rules,
    bookings: None,
    // medication[x] is 1..1: Reference(Medication) or CodeableConcept. Medication
    // is not served, so an import replaces a reference to a left-out Medication
    // by its code.
    coded_references: &[("medicationReference", "medicationCodeableConcept")],
};
