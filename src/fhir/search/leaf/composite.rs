//! Composite parameters (http://hl7.org/fhir/R4/search.html#composite) against
//! `idx_composite`: `code$value`, the first component a token (a code), the
//! second a token, quantity, date or string. Composites over PHI values are
//! not indexed, so they are refused.

use fhirgate_search::ParamType;

use super::quantity::QuantityValue;
use super::{Spec, Token};
use crate::fhir::error::FhirError;
use crate::fhir::search::criteria::{split_unescaped, unescape};
use crate::fhir::search::dates::DateValue;
use crate::fhir::search::sql::{invalid_value, like_escape, unsupported, Query};
use crate::store::index::phi::fold;

#[derive(Debug, Clone)]
pub struct CompositeValue {
    pub first: Token,
    pub second: Second,
}

/// The second component, by its type.
#[derive(Debug, Clone)]
pub enum Second {
    Token(Token),
    Quantity(QuantityValue),
    Date(DateValue),
    /// Folded, for a starts-with match (search.html#string).
    String(String),
}

pub(super) fn parse(spec: &Spec<'_>, values: &[String]) -> Result<Vec<CompositeValue>, FhirError> {
    let param = spec.param();
    spec.no_modifier()?;
    if spec.phi {
        return Err(unsupported(
            param,
            "a composite over an encrypted (PHI) value",
        ));
    }
    values.iter().map(|v| parse_value(spec, v)).collect()
}

fn parse_value(spec: &Spec<'_>, v: &str) -> Result<CompositeValue, FhirError> {
    let param = spec.param();
    let comps = split_unescaped(v, '$');
    let ([first, second], [_, second_type]) = (comps.as_slice(), spec.components) else {
        return Err(invalid_value(param, "a composite value is code$value"));
    };
    let first = Token::parse(first).ok_or_else(|| invalid_value(param, "bad first component"))?;
    let second = match second_type {
        ParamType::Token => Second::Token(
            Token::parse(second).ok_or_else(|| invalid_value(param, "bad second component"))?,
        ),
        ParamType::Quantity | ParamType::Number => {
            Second::Quantity(QuantityValue::parse(param, second, true)?)
        }
        ParamType::Date => Second::Date(DateValue::parse(param, second)?),
        ParamType::String => Second::String(fold(&unescape(second))),
        _ => return Err(unsupported(param, "this composite")),
    };
    Ok(CompositeValue { first, second })
}

impl Query<'_> {
    pub(super) fn composite(&mut self, values: &[CompositeValue]) -> Vec<String> {
        values.iter().map(|v| self.composite_condition(v)).collect()
    }

    fn composite_condition(&mut self, v: &CompositeValue) -> String {
        let mut parts = Vec::new();
        match v.first.system.as_deref() {
            Some("") => parts.push("c1_system IS NULL".to_owned()),
            Some(s) => parts.push(format!("c1_system = {}", self.text(s))),
            None => {}
        }
        if !v.first.code.is_empty() {
            parts.push(format!("c1_code = {}", self.text(v.first.code.as_str())));
        }
        match &v.second {
            Second::Token(t) => {
                if let Some(s) = t.system.as_deref().filter(|s| !s.is_empty()) {
                    parts.push(format!("c2_system = {}", self.text(s)));
                }
                if !t.code.is_empty() {
                    parts.push(format!("c2_code = {}", self.text(t.code.as_str())));
                }
            }
            Second::Quantity(q) => {
                parts.push(self.quantity_condition("c2_value", "c2_system", "c2_code", None, q))
            }
            Second::Date(d) => parts.push(self.range_condition("c2_low", "c2_high", d)),
            Second::String(folded) => parts.push(format!(
                "c2_text LIKE {}",
                self.text(format!("{}%", like_escape(folded)))
            )),
        }
        parts.join(" AND ")
    }
}
