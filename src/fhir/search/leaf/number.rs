//! Number parameters (http://hl7.org/fhir/R4/search.html#number) against
//! `idx_number`: `[prefix]number`, with the implicit range of the digits it
//! is written to (values.rs).

use super::quantity::QuantityValue;
use super::Spec;
use crate::fhir::error::FhirError;
use crate::fhir::search::sql::Query;
use crate::fhir::search::values::{number_condition, Number};

pub(super) fn parse(spec: &Spec<'_>, values: &[String]) -> Result<Vec<Number>, FhirError> {
    spec.no_modifier()?;
    values
        .iter()
        .map(|v| QuantityValue::parse(spec.param(), v, false).map(|q| q.number))
        .collect()
}

impl Query<'_> {
    pub(super) fn number(&mut self, values: &[Number]) -> Vec<String> {
        let mut alts = Vec::new();
        for n in values {
            let (bv, bh) = (self.text(n.text.as_str()), self.text(n.half_unit.as_str()));
            alts.push(number_condition("value", n.prefix, &bv, &bh));
        }
        alts
    }
}
