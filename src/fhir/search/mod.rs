//! FHIR search (http://hl7.org/fhir/R4/search.html) over the index tables.
//!
//! Parsing (`criteria`, `options`) turns the query into typed criteria and
//! result options; `sql`/`leaf` turn criteria into one WHERE clause of
//! `id IN (SELECT resource_id FROM idx_* ...)` terms (repeated parameters AND,
//! comma-separated values OR, chains and `_has` nest over the reference index);
//! `page` sorts and keyset-pages; `include` adds `_include`/`_revinclude`;
//! `bundle` builds the searchset. Every value is a bind parameter; parameter
//! names come from the SearchParameter registry, never from SQL text.

mod audit;
pub mod bundle;
mod conditional;
mod confine;
mod criteria;
mod dates;
mod include;
mod keys;
mod leaf;
mod modifier;
mod options;
mod page;
mod sql;
mod text;
mod totals;
mod values;

pub use audit::AUDIT_PARAMS;
pub use conditional::{
    conditional_criteria, criteria_key, find_ids, find_many, lock_criteria, lock_many,
};
pub use confine::{Alternatives, Confinement};
pub use criteria::{parse_criteria, searchable, Criterion};

/// Parameters that control the result rather than select resources
/// (search.html#2.21.1.1 and http.html#parameters). `_contained` and
/// `_containedType` are not here: they are not supported, so they are reported
/// like any unknown parameter.
pub const RESULT_PARAMS: [&str; 10] = [
    "_format",
    "_pretty",
    "_count",
    "_sort",
    "_total",
    "_summary",
    "_elements",
    "_include",
    "_revinclude",
    "_page",
];
