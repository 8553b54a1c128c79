//! Practitioner (http://hl7.org/fhir/R4/practitioner.html).
//!
//! Never in the Patient compartment
//! (http://hl7.org/fhir/R4/compartmentdefinition-patient.html,
//! `schemas/compartmentdefinition-patient.json`); `$everything` adds the
//! Practitioners its resources reference.

use crate::model::{no_rules, Descriptor, PatientCompartment, Storage};

pub static DESCRIPTOR: Descriptor = Descriptor {
    name: "Practitioner",
    client_writable: true,
    has_history: true,
    storage: Storage::Versioned,
    // As a Patient's, but R4 gives Practitioner no birthdate or death-date
    // parameter (Practitioner.birthDate is not searchable; it has no deceased[x]).
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
        "phone",
        "email",
        "telecom",
    ],
    compartment: PatientCompartment {
        owner: false,
        refs: &[],
        not_followed: &[],
    },
    operations: &[],
    in_everything: true,
    rules: no_rules,
    bookings: None,
    coded_references: &[],
};
