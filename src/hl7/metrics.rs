//! The HL7 listener's counters are defined with the process metrics
//! (src/metrics/hl7.rs), below every layer that counts; re-exported here for
//! the HL7 modules that name them by this path.

pub use crate::metrics::hl7::*;
