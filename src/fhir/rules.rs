//! Business rules of this server that are not R4 invariants. The R4 invariants themselves
//! (dom-*, app-*, obs-*, pat-1, per-1, ext-1, ...) are generated from the R4
//! StructureDefinitions and evaluated by `fhirgate_validate::Invariants`. A violation is 422
//! Unprocessable Entity with issue code `invariant` (http://hl7.org/fhir/R4/http.html#2.21.0.17:
//! "the proposed resource violated applicable FHIR profiles or server business rules").
//! Each type's rules are in its descriptor (`model/types/<type>.rs`, `Descriptor::rules`).

use fhirgate_validate::Violation;
use serde_json::{Map, Value};

use crate::model::ResourceType;

/// The server's own rules for `rtype`.
pub fn check(rtype: ResourceType, r: &Map<String, Value>) -> Vec<Violation> {
    (rtype.descriptor().rules)(r)
}
