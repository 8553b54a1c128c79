//! Which practitioners an Appointment holds a time slot for: the rows of
//! `appointment_bookings`, whose exclusion constraint refuses a double booking
//! inside PostgreSQL (store/bookings.rs). The rule is the Appointment
//! descriptor's (`Descriptor::bookings`, model/types/appointment.rs).

pub use crate::model::types::appointment::practitioner_slots;
