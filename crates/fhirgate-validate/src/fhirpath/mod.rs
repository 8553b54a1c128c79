//! A FHIRPath engine (http://hl7.org/fhirpath/N1/) for the R4 invariants: a lexer, a parser
//! that resolves type names against the model once, and a typed evaluator over
//! `serde_json::Value`. It is separate from the search crate's subset because invariants need
//! the full type model (backbone types, base types, primitives' `_` siblings) and operators
//! (comparison, `in`, string functions, `descendants()`) that search expressions never use.

mod eval;
mod functions;
pub(crate) mod item;
mod lexer;
pub(crate) mod nav;
pub(crate) mod parser;

pub(crate) use eval::Cx;
pub(crate) use item::Node;
pub(crate) use parser::{parse, Expr};
