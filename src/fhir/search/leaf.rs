//! One parameter on one resource type, by parameter type
//! (http://hl7.org/fhir/R4/search.html#ptypes) and modifier (#modifiers).
//! [`parse`] turns a parameter's modifier and values into a typed [`Test`]
//! once, when the query is parsed (criteria.rs); [`Query::leaf`] turns the
//! test into a condition over the index table of the parameter's type. One
//! file per type under `leaf/` does both for its type. PHI parameters are
//! matched through blind indexes only (docs/security.md).

mod composite;
mod date;
mod number;
mod quantity;
mod reference;
mod special;
mod string;
mod token;
mod uri;

use fhirgate_search::{ParamType, SearchParamDef};

pub use self::composite::CompositeValue;
pub use self::quantity::QuantityValue;
pub use self::reference::ReferenceTest;
pub use self::special::Special;
pub use self::string::{StringMatch, StringTest};
pub use self::token::{Token, TokenTest};
pub use self::uri::UriTest;
use super::audit::{self, AuditTest};
use super::criteria::Leaf;
use super::dates::DateValue;
use super::modifier::Modifier;
use super::sql::{invalid_value, unsupported, Bind, Query};
use super::values::Number;
use crate::fhir::error::FhirError;
use crate::model::ResourceType;
use crate::store::index::phi::column;

/// What a criterion on one parameter tests: its modifier and values, parsed
/// and checked for the parameter's type.
#[derive(Debug, Clone)]
pub enum Test {
    /// `:missing` (search.html#missing): true selects resources with no value.
    Missing(bool),
    /// `_id`, `_lastUpdated`: columns of the resources table.
    Special(Special),
    String(StringTest),
    Token(TokenTest),
    Reference(ReferenceTest),
    Date(Vec<DateValue>),
    Number(Vec<Number>),
    Quantity(Vec<QuantityValue>),
    Uri(UriTest),
    Composite(Vec<CompositeValue>),
    /// A parameter of a type searched over projected columns (audit.rs).
    Audit(AuditTest),
}

/// What the value parsers need to know of the parameter.
pub struct Spec<'a> {
    pub rtype: ResourceType,
    pub def: &'a SearchParamDef,
    pub phi: bool,
    pub modifier: Option<&'a Modifier>,
    /// The types of a composite parameter's components, in order (search.html#composite).
    pub components: &'a [ParamType],
}

impl Spec<'_> {
    fn param(&self) -> &str {
        &self.def.code
    }

    /// Refuses any modifier (the types that take none).
    fn no_modifier(&self) -> Result<(), FhirError> {
        match self.modifier {
            None => Ok(()),
            Some(_) => Err(unsupported(self.param(), "this modifier")),
        }
    }
}

fn table(t: ParamType) -> Option<&'static str> {
    Some(match t {
        ParamType::String => "idx_string",
        ParamType::Token => "idx_token",
        ParamType::Date => "idx_date",
        ParamType::Reference => "idx_reference",
        ParamType::Quantity => "idx_quantity",
        ParamType::Number => "idx_number",
        ParamType::Uri => "idx_uri",
        ParamType::Composite => "idx_composite",
        ParamType::Special => return None,
    })
}

/// The values of `:missing`: exactly one, `true` or `false`.
pub(super) fn missing_flag(values: &[String]) -> Option<bool> {
    match values {
        [v] if v == "true" => Some(true),
        [v] if v == "false" => Some(false),
        _ => None,
    }
}

/// Parses one parameter's modifier and comma-separated `values` (escapes
/// kept, search.html#escaping) for its type.
pub fn parse(spec: &Spec<'_>, values: &[String]) -> Result<Test, FhirError> {
    if audit::is_projected(spec.rtype) {
        return audit::parse(spec, values).map(Test::Audit);
    }
    let param = spec.param();
    if param == "_id" || param == "_lastUpdated" {
        return special::parse(spec, values).map(Test::Special);
    }
    if table(spec.def.param_type).is_none() {
        return Err(unsupported(param, "this parameter type"));
    }
    if spec.modifier == Some(&Modifier::Missing) {
        return missing_flag(values)
            .map(Test::Missing)
            .ok_or_else(|| invalid_value(param, ":missing takes true or false"));
    }
    Ok(match spec.def.param_type {
        ParamType::String => Test::String(string::parse(spec, values)?),
        ParamType::Token => Test::Token(token::parse(spec, values)?),
        ParamType::Reference => Test::Reference(reference::parse(spec, values)?),
        ParamType::Date => Test::Date(date::parse(spec, values)?),
        ParamType::Number => Test::Number(number::parse(spec, values)?),
        ParamType::Quantity => Test::Quantity(quantity::parse(spec, values)?),
        ParamType::Uri => Test::Uri(uri::parse(spec, values)?),
        ParamType::Composite => Test::Composite(composite::parse(spec, values)?),
        ParamType::Special => return Err(unsupported(param, "this parameter type")),
    })
}

impl Query<'_> {
    fn blind(&self, rtype: ResourceType, param: &str, purpose: &str, v: &str) -> Bind {
        Bind::Bytes(self.ix.index(&column(rtype.as_str(), param, purpose), v).0)
    }

    /// The condition of `l` on `col`, an id of `rtype` (`row`: the alias of its
    /// `resources` row, when there is one).
    pub(super) fn leaf(
        &mut self,
        col: &str,
        row: Option<&str>,
        rtype: ResourceType,
        l: &Leaf,
    ) -> Result<String, FhirError> {
        let test = l.test.as_ref().map_err(FhirError::clone)?;
        if let Test::Special(s) = test {
            return Ok(self.special(col, row, rtype, &l.param, s));
        }
        let table =
            table(l.param_type).ok_or_else(|| unsupported(&l.param, "this parameter type"))?;
        let (negate, alts) = match test {
            Test::Missing(missing) => {
                return Ok(self.in_index(col, *missing, table, rtype, &l.rows_of, None))
            }
            Test::String(t) => (false, self.string(rtype, l, t)),
            Test::Token(t) => self.token(rtype, l, t),
            Test::Reference(t) => (false, self.reference(rtype, l, t)),
            Test::Date(d) => (false, self.date(rtype, l, d)),
            Test::Number(n) => (false, self.number(n)),
            Test::Quantity(q) => (false, self.quantity(rtype, l, q)),
            Test::Uri(t) => (false, self.uri(t)),
            Test::Composite(c) => (false, self.composite(c)),
            // A projected type is never reached through a chain or `_has`
            // (criteria.rs refuses both).
            Test::Special(_) | Test::Audit(_) => {
                return Err(unsupported(rtype.as_str(), "chaining"))
            }
        };
        Ok(self.in_index(col, negate, table, rtype, &l.rows_of, Some(alts)))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests;
