//! Authorization (issue #17, SMART App Launch 2.0.0,
//! https://hl7.org/fhir/smart-app-launch/STU2/): what a bearer token grants.
//!
//! - [`scopes`]: SMART scopes v1 and v2 (scopes-and-launch-context.html), parsed
//!   into values, compared ("does this scope cover that one": `narrow` to a
//!   ceiling, `within` a grant) and described in plain words for the consent
//!   page.
//!
//! This layer sits above `audit` and below FHIR semantics: the engine's
//! decision point (`fhir::engine::access`) interprets what is decided here;
//! the OAuth endpoints and pages (`oauth`) are a protocol adapter above.

pub mod scopes;
