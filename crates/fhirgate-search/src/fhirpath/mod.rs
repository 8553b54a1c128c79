//! A FHIRPath subset (http://hl7.org/fhirpath/N1/) sufficient for the R4
//! search-parameter expressions: paths with choice expansion, `|`, `=`/`!=`,
//! `and`/`or`/`xor`/`implies`, `is`/`as`, and the functions `where`,
//! `exists`, `empty`, `not`, `hasValue`, `first`, `last`, `resolve`,
//! `ofType`, `as`, `is`.
mod eval;
mod item;
mod lexer;
mod parser;

pub(crate) use eval::Evaluator;
pub(crate) use item::Item;
pub(crate) use lexer::{lex, Tok};
pub(crate) use parser::{parse, Expr};
