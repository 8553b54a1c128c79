//! The MLLP listeners' settings are defined with the rest of the configuration
//! (src/config/hl7.rs), below every layer that reads them; re-exported here
//! for the HL7 modules that name them by this path.

pub use crate::config::hl7::*;
