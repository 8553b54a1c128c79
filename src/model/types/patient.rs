//! Patient (http://hl7.org/fhir/R4/patient.html).
//!
//! Patient compartment (http://hl7.org/fhir/R4/compartmentdefinition-patient.html,
//! `schemas/compartmentdefinition-patient.json`): a Patient owns its
//! compartment, and R4 also puts in it the Patients its `link` parameter
//! (`Patient.link.other`) names. The audit entity names only the Patient
//! itself: a linked Patient is another record, audited when it is itself
//! read or written.

use crate::model::{no_rules, Descriptor, PatientCompartment, Storage};

pub static DESCRIPTOR: Descriptor = Descriptor {
    name: "Patient",
    client_writable: true,
    has_history: true,
    storage: Storage::Versioned,
    // Names, addresses, birth and death dates and contact points identify a person.
    phi_params: &[
        "name",
        "family",
        "given",
        "phonetic",
        "address",
        "address-city",
        "address-country",
        "address-postalcode",
        "address-state",
        "birthdate",
        "death-date",
        "phone",
        "email",
        "telecom",
    ],
    compartment: PatientCompartment {
        owner: true,
        refs: &[],
        not_followed: &["link"],
    },
    // http://hl7.org/fhir/R4/patient-operation-everything.html
    operations: &["everything"],
    in_everything: true,
    rules: no_rules,
    bookings: None,
    coded_references: &[],
};
