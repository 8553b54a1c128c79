//! FHIR R4 search-parameter registry and index-value extraction.
//!
//! The registry is built from the official R4 `SearchParameter` definitions
//! (`schemas/search-parameters.json`) and the R4 JSON Schema
//! (`schemas/fhir.schema.json`), so that indexing any resource type is driven
//! by data: each parameter's FHIRPath expression is evaluated by a small
//! FHIRPath subset ([`fhirpath`]) and the resulting nodes are converted to
//! index values following <http://hl7.org/fhir/R4/search.html> §3.1.1.4.
#![forbid(unsafe_code)]

mod extract;
mod fhirpath;
mod model;
mod registry;
#[cfg(test)]
mod tests;
mod unions;

pub use extract::{DATE_MAX, DATE_MIN};

/// The inclusive instant range a FHIR date, dateTime or instant denotes at the
/// precision it is written to (search.html#date): the same rule for stored
/// values and for search values, so they compare consistently.
pub fn date_range(
    s: &str,
) -> Option<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)> {
    extract::date::parse_range(s)
}
pub use registry::{ExpressionIssue, Registry};

/// The R4 `SearchParameter.type` value set
/// (<http://hl7.org/fhir/R4/valueset-search-param-type.html>).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParamType {
    Number,
    Date,
    String,
    Token,
    Reference,
    Composite,
    Quantity,
    Uri,
    Special,
}

impl ParamType {
    /// Parses the `SearchParameter.type` code.
    pub fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "number" => Self::Number,
            "date" => Self::Date,
            "string" => Self::String,
            "token" => Self::Token,
            "reference" => Self::Reference,
            "composite" => Self::Composite,
            "quantity" => Self::Quantity,
            "uri" => Self::Uri,
            "special" => Self::Special,
            _ => return None,
        })
    }

    /// The `SearchParameter.type` code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Number => "number",
            Self::Date => "date",
            Self::String => "string",
            Self::Token => "token",
            Self::Reference => "reference",
            Self::Composite => "composite",
            Self::Quantity => "quantity",
            Self::Uri => "uri",
            Self::Special => "special",
        }
    }
}

/// One search parameter as it applies to one resource type.
#[derive(Debug, Clone)]
pub struct SearchParamDef {
    pub code: String,
    pub url: String,
    pub param_type: ParamType,
    pub resource_type: String,
    /// Only the union members of the official expression that apply to
    /// `resource_type`; `Resource.x` members are rebased to `<type>.x`.
    /// Empty when the definition has no expression (e.g. `_text`).
    pub expression: String,
    pub targets: Vec<String>,
    pub modifiers: Vec<String>,
    pub comparators: Vec<String>,
    /// `(component definition url, expression relative to each base element)`.
    pub components: Vec<(String, String)>,
    /// When not empty, this parameter's values are exactly the values of these
    /// parameters together; it is not indexed itself, and a search on it reads
    /// their index rows (src/unions.rs: Observation's `combo-*`).
    pub union_of: Vec<String>,
}

impl SearchParamDef {
    /// The parameters whose index rows hold this parameter's values.
    pub fn index_params(&self) -> Vec<String> {
        if self.union_of.is_empty() {
            vec![self.code.clone()]
        } else {
            self.union_of.clone()
        }
    }
}

/// One value to index for one parameter of one resource.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexEntry {
    pub param: String,
    pub value: IndexValue,
}

/// An index value, shaped by the parameter type (search.html §3.1.1.4.x).
#[derive(Debug, Clone, PartialEq)]
pub enum IndexValue {
    /// Raw text, unnormalised (the store normalises case/accents).
    String(String),
    Token {
        system: Option<String>,
        code: Option<String>,
        text: Option<String>,
    },
    Reference {
        reference: Option<String>,
        target_type: Option<String>,
        target_id: Option<String>,
        version: Option<String>,
        /// `(system, value)` of `Reference.identifier`, for `:identifier`.
        identifier: Option<(Option<String>, Option<String>)>,
    },
    /// Inclusive range implied by the precision of the source value.
    Date {
        low: chrono::DateTime<chrono::Utc>,
        high: chrono::DateTime<chrono::Utc>,
    },
    Quantity {
        /// Exact decimal text as written in the resource.
        value: String,
        system: Option<String>,
        code: Option<String>,
        unit: Option<String>,
    },
    Number {
        value: String,
    },
    Uri(String),
    /// One part per component, for one combination within one base element.
    Composite(Vec<IndexValue>),
}
