//! Quantity parameters (http://hl7.org/fhir/R4/search.html#quantity) against
//! `idx_quantity`: `[prefix]number[|system|code]`. With no system, the code
//! matches "either the code (code) or the stated human unit (unit)"; the unit
//! text is kept as a blind index (text.rs).

use super::Spec;
use crate::fhir::error::FhirError;
use crate::fhir::search::criteria::{split_unescaped, unescape, Leaf};
use crate::fhir::search::sql::{invalid_value, Query};
use crate::fhir::search::values::{number_condition, parse_number, Number};
use crate::model::ResourceType;

/// A quantity search value; an empty system or code is no condition.
#[derive(Debug, Clone)]
pub struct QuantityValue {
    pub number: Number,
    pub system: Option<String>,
    pub code: Option<String>,
}

impl QuantityValue {
    /// `[prefix]number`, and when `units`, `[prefix]number|system|code`.
    pub(super) fn parse(param: &str, v: &str, units: bool) -> Result<Self, FhirError> {
        let parts = split_unescaped(v, '|');
        let (number, system, code) = match parts.as_slice() {
            [n] => (n, None, None),
            [n, s, c] if units => (n, Some(unescape(s)), Some(unescape(c))),
            _ => {
                return Err(invalid_value(
                    param,
                    "expected [prefix]number[|system|code]",
                ))
            }
        };
        let number = parse_number(number).ok_or_else(|| invalid_value(param, "not a number"))?;
        Ok(Self {
            number,
            system: system.filter(|s| !s.is_empty()),
            code: code.filter(|c| !c.is_empty()),
        })
    }
}

pub(super) fn parse(spec: &Spec<'_>, values: &[String]) -> Result<Vec<QuantityValue>, FhirError> {
    spec.no_modifier()?;
    values
        .iter()
        .map(|v| QuantityValue::parse(spec.param(), v, true))
        .collect()
}

impl Query<'_> {
    pub(super) fn quantity(
        &mut self,
        rtype: ResourceType,
        l: &Leaf,
        values: &[QuantityValue],
    ) -> Vec<String> {
        let mut alts = Vec::new();
        for q in values {
            let unit = Some((rtype, l.rows_of.as_slice()));
            alts.push(self.quantity_condition("value", "system", "code", unit, q));
        }
        alts
    }

    /// `q` against value/system/code columns; `unit`: the parameters whose
    /// unit blind index a code may match instead (idx_quantity has one; a
    /// composite's component does not).
    pub(super) fn quantity_condition(
        &mut self,
        value_col: &str,
        system_col: &str,
        code_col: &str,
        unit: Option<(ResourceType, &[String])>,
        q: &QuantityValue,
    ) -> String {
        let n = &q.number;
        let (bv, bh) = (self.text(n.text.as_str()), self.text(n.half_unit.as_str()));
        let mut cond = number_condition(value_col, n.prefix, &bv, &bh);
        if let Some(s) = &q.system {
            cond.push_str(&format!(" AND {system_col} = {}", self.text(s.as_str())));
        }
        if let Some(c) = &q.code {
            let b = self.text(c.as_str());
            // search.html#quantity: `5.4||mg` matches "either the code (code) or
            // the stated human unit (unit)"; with a system, system and code.
            cond.push_str(&match unit.filter(|_| q.system.is_none()) {
                Some((rtype, parts)) => {
                    let u = self.unit_condition(rtype, parts, c);
                    format!(" AND ({code_col} = {b} OR {u})")
                }
                None => format!(" AND {code_col} = {b}"),
            });
        }
        cond
    }
}
