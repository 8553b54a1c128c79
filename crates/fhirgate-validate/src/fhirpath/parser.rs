//! Recursive-descent parser for FHIRPath (http://hl7.org/fhirpath/N1/), producing an AST
//! whose type names are already resolved against the model, so an expression is compiled
//! once at start-up and evaluated without lookups of its own. Operator precedence follows
//! http://hl7.org/fhirpath/N1/#operator-precedence. Functions and operators outside what the
//! evaluator implements are errors here, never silently mis-evaluated.

use super::lexer::{lex, Tok, Token};
use crate::invariants::model::Ty;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Env {
    /// `%resource`: the resource that holds the element (a contained one for its elements).
    Resource,
    /// `%rootResource`: the container of a contained resource, else `%resource`.
    RootResource,
    /// `%context`: the element the constraint is evaluated on.
    Context,
    /// `%ucum`: http://unitsofmeasure.org (fhirpath.html#vars in the FHIR spec).
    Ucum,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Op {
    Union,
    Eq,
    Ne,
    Equiv,
    NotEquiv,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    Contains,
    And,
    Or,
    Xor,
    Implies,
    Plus,
    Minus,
    Concat,
}

/// Functions the evaluator implements (http://hl7.org/fhirpath/N1/#functions and the FHIR
/// additions of http://hl7.org/fhir/R4/fhirpath.html#functions).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Fun {
    Empty,
    Exists,
    All,
    AllTrue,
    AllFalse,
    AnyTrue,
    AnyFalse,
    Count,
    Distinct,
    IsDistinct,
    Where,
    Select,
    First,
    Last,
    Tail,
    Single,
    Not,
    HasValue,
    Children,
    Descendants,
    Trace,
    Iif,
    Intersect,
    Exclude,
    Union,
    Combine,
    StartsWith,
    EndsWith,
    Contains,
    Substring,
    Length,
    Upper,
    Lower,
    ToStringFn,
    ToInteger,
    Resolve,
}

impl Fun {
    fn parse(name: &str) -> Option<(Fun, usize, usize)> {
        use Fun::*;
        Some(match name {
            "empty" => (Empty, 0, 0),
            "exists" => (Exists, 0, 1),
            "all" => (All, 1, 1),
            "allTrue" => (AllTrue, 0, 0),
            "allFalse" => (AllFalse, 0, 0),
            "anyTrue" => (AnyTrue, 0, 0),
            "anyFalse" => (AnyFalse, 0, 0),
            "count" => (Count, 0, 0),
            "distinct" => (Distinct, 0, 0),
            "isDistinct" => (IsDistinct, 0, 0),
            "where" => (Where, 1, 1),
            "select" => (Select, 1, 1),
            "first" => (First, 0, 0),
            "last" => (Last, 0, 0),
            "tail" => (Tail, 0, 0),
            "single" => (Single, 0, 0),
            "not" => (Not, 0, 0),
            "hasValue" => (HasValue, 0, 0),
            "children" => (Children, 0, 0),
            "descendants" => (Descendants, 0, 0),
            "trace" => (Trace, 1, 2),
            "iif" => (Iif, 2, 3),
            "intersect" => (Intersect, 1, 1),
            "exclude" => (Exclude, 1, 1),
            "union" => (Union, 1, 1),
            "combine" => (Combine, 1, 1),
            "startsWith" => (StartsWith, 1, 1),
            "endsWith" => (EndsWith, 1, 1),
            "contains" => (Contains, 1, 1),
            "substring" => (Substring, 1, 2),
            "length" => (Length, 0, 0),
            "upper" => (Upper, 0, 0),
            "lower" => (Lower, 0, 0),
            "toString" => (ToStringFn, 0, 0),
            "toInteger" => (ToInteger, 0, 0),
            "resolve" => (Resolve, 0, 0),
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    This,
    Env(Env),
    Str(String),
    Num(f64, bool),
    Bool(bool),
    EmptySet,
    /// `focus.name`; `None` focus = the input collection (a path's first step).
    Member(Option<Box<Expr>>, String),
    Call(Option<Box<Expr>>, Fun, Vec<Expr>),
    /// `focus.ofType(T)` / `.as(T)` (both filter by type), `.is(T)`.
    OfType(Option<Box<Expr>>, Ty),
    IsFn(Option<Box<Expr>>, Ty),
    Index(Box<Expr>, Box<Expr>),
    Neg(Box<Expr>),
    Bin(Op, Box<Expr>, Box<Expr>),
    Is(Box<Expr>, Ty),
    As(Box<Expr>, Ty),
}

const MAX_DEPTH: usize = 64;

/// Resolves a type specifier (`Quantity`, `FHIR.uri`, `System.String`) to a model type.
pub(crate) type Resolver<'r> = &'r dyn Fn(Option<&str>, &str) -> Option<Ty>;

pub(crate) fn parse(src: &str, types: Resolver<'_>) -> Result<Expr, String> {
    let tokens = lex(src)?;
    let mut p = Parser {
        tokens: &tokens,
        pos: 0,
        depth: 0,
        types,
    };
    let e = p.expr(0)?;
    match p.peek() {
        None => Ok(e),
        Some(t) => Err(format!("unexpected {:?} at {}", t.tok, t.start)),
    }
}

struct Parser<'t, 'r> {
    tokens: &'t [Token],
    pos: usize,
    depth: usize,
    types: Resolver<'r>,
}

enum Bin {
    Op(Op),
    Is,
    As,
}

/// Binary operators with their precedence (higher binds tighter; the spec's table inverted).
fn binary(tok: &Tok) -> Option<(u8, Bin)> {
    Some(match tok {
        Tok::Ident {
            name,
            quoted: false,
        } => match name.as_str() {
            "implies" => (1, Bin::Op(Op::Implies)),
            "or" => (2, Bin::Op(Op::Or)),
            "xor" => (2, Bin::Op(Op::Xor)),
            "and" => (3, Bin::Op(Op::And)),
            "in" => (4, Bin::Op(Op::In)),
            "contains" => (4, Bin::Op(Op::Contains)),
            "is" => (8, Bin::Is),
            "as" => (8, Bin::As),
            _ => return None,
        },
        Tok::Sym(s) => match *s {
            "=" => (5, Bin::Op(Op::Eq)),
            "!=" => (5, Bin::Op(Op::Ne)),
            "~" => (5, Bin::Op(Op::Equiv)),
            "!~" => (5, Bin::Op(Op::NotEquiv)),
            "<" => (6, Bin::Op(Op::Lt)),
            "<=" => (6, Bin::Op(Op::Le)),
            ">" => (6, Bin::Op(Op::Gt)),
            ">=" => (6, Bin::Op(Op::Ge)),
            "|" => (7, Bin::Op(Op::Union)),
            "+" => (9, Bin::Op(Op::Plus)),
            "-" => (9, Bin::Op(Op::Minus)),
            "&" => (9, Bin::Op(Op::Concat)),
            _ => return None,
        },
        _ => return None,
    })
}

impl Parser<'_, '_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<&Token> {
        let t = self.tokens.get(self.pos);
        self.pos += 1;
        t
    }

    fn eat(&mut self, sym: &str) -> bool {
        match self.peek() {
            Some(Token {
                tok: Tok::Sym(s), ..
            }) if *s == sym => {
                self.pos += 1;
                true
            }
            _ => false,
        }
    }

    fn expect(&mut self, sym: &str) -> Result<(), String> {
        if self.eat(sym) {
            Ok(())
        } else {
            Err(format!("expected '{sym}' at token {}", self.pos))
        }
    }

    fn expr(&mut self, min: u8) -> Result<Expr, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("expression nested too deeply".into());
        }
        let mut lhs = self.unary()?;
        while let Some((prec, op)) = self.peek().and_then(|t| binary(&t.tok)) {
            if prec < min {
                break;
            }
            self.pos += 1;
            lhs = match op {
                Bin::Is => Expr::Is(Box::new(lhs), self.type_spec()?),
                Bin::As => Expr::As(Box::new(lhs), self.type_spec()?),
                Bin::Op(op) => {
                    let rhs = self.expr(prec + 1)?;
                    Expr::Bin(op, Box::new(lhs), Box::new(rhs))
                }
            };
        }
        self.depth -= 1;
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.eat("-") {
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        if self.eat("+") {
            return self.unary();
        }
        self.postfix()
    }

    fn postfix(&mut self) -> Result<Expr, String> {
        let mut e = self.term()?;
        loop {
            if self.eat(".") {
                e = self.invocation(Some(Box::new(e)))?;
            } else if self.eat("[") {
                let idx = self.expr(0)?;
                self.expect("]")?;
                e = Expr::Index(Box::new(e), Box::new(idx));
            } else {
                return Ok(e);
            }
        }
    }

    fn term(&mut self) -> Result<Expr, String> {
        let t = self.peek().ok_or("unexpected end of expression")?.clone();
        let e = match &t.tok {
            Tok::Str(s) => Expr::Str(s.clone()),
            Tok::Num(n) => {
                let v = n.parse::<f64>().map_err(|_| format!("bad number {n}"))?;
                Expr::Num(v, !n.contains('.'))
            }
            Tok::Special(s) if s == "this" => Expr::This,
            Tok::Env(s) => Expr::Env(match s.as_str() {
                "resource" => Env::Resource,
                "rootResource" => Env::RootResource,
                "context" => Env::Context,
                "ucum" => Env::Ucum,
                other => return Err(format!("unsupported variable %{other}")),
            }),
            Tok::Ident {
                name,
                quoted: false,
            } if name == "true" || name == "false" => Expr::Bool(name == "true"),
            Tok::Sym("(") => {
                self.pos += 1;
                let e = self.expr(0)?;
                self.expect(")")?;
                return Ok(e);
            }
            Tok::Sym("{") => {
                self.pos += 1;
                self.expect("}")?;
                return Ok(Expr::EmptySet);
            }
            Tok::Ident { .. } => return self.invocation(None),
            other => return Err(format!("unexpected {other:?} at {}", t.start)),
        };
        self.pos += 1;
        Ok(e)
    }

    /// A member name, or a function call when `(` follows.
    fn invocation(&mut self, focus: Option<Box<Expr>>) -> Result<Expr, String> {
        let name = match self.next().map(|t| &t.tok) {
            Some(Tok::Ident { name, .. }) => name.clone(),
            other => return Err(format!("expected a name, found {other:?}")),
        };
        if !self.eat("(") {
            return Ok(Expr::Member(focus, name));
        }
        if matches!(name.as_str(), "ofType" | "as" | "is") {
            let ty = self.type_spec()?;
            self.expect(")")?;
            return Ok(if name == "is" {
                Expr::IsFn(focus, ty)
            } else {
                Expr::OfType(focus, ty)
            });
        }
        let (fun, min, max) = Fun::parse(&name).ok_or(format!("unsupported function {name}()"))?;
        let mut args = Vec::new();
        if !self.eat(")") {
            loop {
                args.push(self.expr(0)?);
                if self.eat(")") {
                    break;
                }
                self.expect(",")?;
            }
        }
        if args.len() < min || args.len() > max {
            return Err(format!("{name}() takes {min} to {max} arguments"));
        }
        Ok(Expr::Call(focus, fun, args))
    }

    /// `qualifiedIdentifier`: `Name` or `Namespace.Name`, resolved to a model type.
    fn type_spec(&mut self) -> Result<Ty, String> {
        let first = match self.next().map(|t| &t.tok) {
            Some(Tok::Ident { name, .. }) => name.clone(),
            other => return Err(format!("expected a type name, found {other:?}")),
        };
        let qualified = matches!(first.as_str(), "FHIR" | "System")
            && matches!(
                self.peek(),
                Some(Token {
                    tok: Tok::Sym("."),
                    ..
                })
            );
        let (ns, name) = if qualified {
            self.pos += 1;
            match self.next().map(|t| &t.tok) {
                Some(Tok::Ident { name, .. }) => (Some(first), name.clone()),
                _ => return Err("expected a type name after the namespace".into()),
            }
        } else {
            (None, first)
        };
        (self.types)(ns.as_deref(), &name).ok_or(format!("unknown type {name}"))
    }
}
