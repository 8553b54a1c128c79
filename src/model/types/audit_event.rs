//! AuditEvent (http://hl7.org/fhir/R4/auditevent.html), after IHE BALP
//! (src/audit/event.rs). Written by the server only, one version each, kept in
//! the append-only audit log: clients read and search (issue #2, "AuditEvent:
//! read and type-search only").
//!
//! Patient compartment (http://hl7.org/fhir/R4/compartmentdefinition-patient.html,
//! `schemas/compartmentdefinition-patient.json`): `patient`. Not followed: the
//! record of reading an AuditEvent names the AuditEvent, not the patients it
//! records (those are in its projection, `AuditEvent?patient=`). Left out of
//! `$everything`: every read of the patient writes one, so the answer would
//! grow with each call.

use crate::model::{no_rules, Descriptor, PatientCompartment, Storage};

pub static DESCRIPTOR: Descriptor = Descriptor {
    name: "AuditEvent",
    client_writable: false,
    has_history: false,
    storage: Storage::AuditLog,
    // `address` is the network address of a system (client or server), not of a
    // patient; agent and entity names and an agent's alternative id may name people.
    phi_params: &["agent-name", "entity-name", "altid"],
    compartment: PatientCompartment {
        owner: false,
        refs: &[],
        not_followed: &["patient"],
    },
    operations: &[],
    in_everything: false,
    rules: no_rules,
    bookings: None,
    coded_references: &[],
};
