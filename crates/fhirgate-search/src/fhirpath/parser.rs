//! Recursive-descent parser for the FHIRPath subset used by R4 search
//! parameters. Operator precedence follows
//! http://hl7.org/fhirpath/N1/#operator-precedence; operators outside the
//! subset are rejected with an error rather than mis-parsed.
use super::lexer::{lex, Tok, Token};

/// A type specifier (`Patient`, `FHIR.Quantity`, `System.DateTime`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TypeSpec {
    pub namespace: Option<String>,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Func {
    Where(Box<Expr>),
    Exists(Option<Box<Expr>>),
    Empty,
    Not,
    HasValue,
    First,
    Last,
    Resolve,
    OfType(TypeSpec),
    As(TypeSpec),
    Is(TypeSpec),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Step {
    Member(String),
    Func(Func),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Logic {
    And,
    Or,
    Xor,
    Implies,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    /// A member or function applied to the input collection (path start).
    Term(Step),
    /// `expr.step`
    Invoke(Box<Expr>, Step),
    This,
    /// `%resource` / `%context` / `%rootResource`: the resource being indexed.
    Root,
    Str(String),
    Num(String),
    Bool(bool),
    EmptySet,
    Index(Box<Expr>, Box<Expr>),
    Union(Box<Expr>, Box<Expr>),
    /// `=` (`negate: false`) or `!=` (`negate: true`).
    Equals(Box<Expr>, Box<Expr>, bool),
    Logic(Logic, Box<Expr>, Box<Expr>),
    Is(Box<Expr>, TypeSpec),
    As(Box<Expr>, TypeSpec),
}

/// Guards the parser's recursion against hostile input.
const MAX_DEPTH: usize = 64;

pub(crate) fn parse(src: &str) -> Result<Expr, String> {
    let tokens = lex(src)?;
    let mut p = Parser {
        tokens: &tokens,
        pos: 0,
        depth: 0,
    };
    let e = p.expr(0)?;
    match p.peek() {
        None => Ok(e),
        Some(t) => Err(format!("unexpected {:?} at {}", t.tok, t.start)),
    }
}

struct Parser<'t> {
    tokens: &'t [Token],
    pos: usize,
    depth: usize,
}

/// Binary operators in the subset, with their precedence (higher binds
/// tighter) - the numbering mirrors the spec's table, inverted.
fn binary_op(tok: &Tok) -> Option<(u8, &'static str)> {
    Some(match tok {
        Tok::Ident {
            name,
            quoted: false,
        } => match name.as_str() {
            "implies" => (1, "implies"),
            "or" => (2, "or"),
            "xor" => (2, "xor"),
            "and" => (3, "and"),
            "in" | "contains" => (4, "unsupported"),
            "is" => (8, "is"),
            "as" => (8, "as"),
            "div" | "mod" => (10, "unsupported"),
            _ => return None,
        },
        Tok::Sym(s) => match *s {
            "=" => (5, "="),
            "!=" => (5, "!="),
            "~" | "!~" => (5, "unsupported"),
            "<" | ">" | "<=" | ">=" => (6, "unsupported"),
            "|" => (7, "|"),
            "+" | "-" => (9, "unsupported"),
            "*" => (10, "unsupported"),
            _ => return None,
        },
        _ => return None,
    })
}

impl<'t> Parser<'t> {
    fn peek(&self) -> Option<&'t Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<&'t Token> {
        let t = self.tokens.get(self.pos);
        self.pos += 1;
        t
    }

    fn eat_sym(&mut self, sym: &str) -> bool {
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

    fn expect_sym(&mut self, sym: &str) -> Result<(), String> {
        if self.eat_sym(sym) {
            Ok(())
        } else {
            Err(format!("expected '{sym}' at token {}", self.pos))
        }
    }

    /// Precedence climbing over the binary operators.
    fn expr(&mut self, min_prec: u8) -> Result<Expr, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("expression nested too deeply".to_string());
        }
        let mut lhs = self.postfix()?;
        while let Some((prec, op)) = self.peek().and_then(|t| binary_op(&t.tok)) {
            if prec < min_prec {
                break;
            }
            self.pos += 1;
            if op == "is" || op == "as" {
                let ts = self.type_spec()?;
                lhs = if op == "is" {
                    Expr::Is(Box::new(lhs), ts)
                } else {
                    Expr::As(Box::new(lhs), ts)
                };
                continue;
            }
            if op == "unsupported" {
                return Err(format!("unsupported operator at token {}", self.pos - 1));
            }
            let rhs = Box::new(self.expr(prec + 1)?);
            let lhs_b = Box::new(lhs);
            lhs = match op {
                "|" => Expr::Union(lhs_b, rhs),
                "=" => Expr::Equals(lhs_b, rhs, false),
                "!=" => Expr::Equals(lhs_b, rhs, true),
                "and" => Expr::Logic(Logic::And, lhs_b, rhs),
                "or" => Expr::Logic(Logic::Or, lhs_b, rhs),
                "xor" => Expr::Logic(Logic::Xor, lhs_b, rhs),
                _ => Expr::Logic(Logic::Implies, lhs_b, rhs),
            };
        }
        self.depth -= 1;
        Ok(lhs)
    }

    fn postfix(&mut self) -> Result<Expr, String> {
        let mut e = self.term()?;
        loop {
            if self.eat_sym(".") {
                let step = self.step()?;
                e = Expr::Invoke(Box::new(e), step);
            } else if self.eat_sym("[") {
                let idx = self.expr(0)?;
                self.expect_sym("]")?;
                e = Expr::Index(Box::new(e), Box::new(idx));
            } else {
                return Ok(e);
            }
        }
    }

    fn term(&mut self) -> Result<Expr, String> {
        let t = self.peek().ok_or("unexpected end of expression")?;
        match &t.tok {
            Tok::Str(s) => {
                self.pos += 1;
                Ok(Expr::Str(s.clone()))
            }
            Tok::Num(n) => {
                self.pos += 1;
                Ok(Expr::Num(n.clone()))
            }
            Tok::Special(s) if s == "this" => {
                self.pos += 1;
                Ok(Expr::This)
            }
            Tok::Env(s) if matches!(s.as_str(), "resource" | "context" | "rootResource") => {
                self.pos += 1;
                Ok(Expr::Root)
            }
            Tok::Ident {
                name,
                quoted: false,
            } if name == "true" || name == "false" => {
                self.pos += 1;
                Ok(Expr::Bool(name == "true"))
            }
            Tok::Sym("(") => {
                self.pos += 1;
                let e = self.expr(0)?;
                self.expect_sym(")")?;
                Ok(e)
            }
            Tok::Sym("{") => {
                self.pos += 1;
                self.expect_sym("}")?;
                Ok(Expr::EmptySet)
            }
            Tok::Ident { .. } => Ok(Expr::Term(self.step()?)),
            other => Err(format!("unexpected {other:?} at {}", t.start)),
        }
    }

    /// An identifier, optionally followed by an argument list (a function).
    fn step(&mut self) -> Result<Step, String> {
        let name = match self.next().map(|t| &t.tok) {
            Some(Tok::Ident { name, .. }) => name.clone(),
            other => return Err(format!("expected identifier, found {other:?}")),
        };
        if !self.eat_sym("(") {
            return Ok(Step::Member(name));
        }
        let func = match name.as_str() {
            "ofType" | "as" | "is" => {
                let ts = self.type_spec()?;
                match name.as_str() {
                    "ofType" => Func::OfType(ts),
                    "as" => Func::As(ts),
                    _ => Func::Is(ts),
                }
            }
            "where" => Func::Where(Box::new(self.expr(0)?)),
            "exists" if !self.at_close() => Func::Exists(Some(Box::new(self.expr(0)?))),
            "exists" => Func::Exists(None),
            "empty" => Func::Empty,
            "not" => Func::Not,
            "hasValue" => Func::HasValue,
            "first" => Func::First,
            "last" => Func::Last,
            "resolve" => Func::Resolve,
            other => return Err(format!("unsupported function {other}()")),
        };
        self.expect_sym(")")?;
        Ok(Step::Func(func))
    }

    fn at_close(&self) -> bool {
        matches!(
            self.peek(),
            Some(Token {
                tok: Tok::Sym(")"),
                ..
            })
        )
    }

    /// `qualifiedIdentifier` in the grammar: `Name` or `Namespace.Name`.
    fn type_spec(&mut self) -> Result<TypeSpec, String> {
        let first = match self.next().map(|t| &t.tok) {
            Some(Tok::Ident { name, .. }) => name.clone(),
            other => return Err(format!("expected type name, found {other:?}")),
        };
        let qualified = matches!(first.as_str(), "FHIR" | "System")
            && matches!(
                self.peek(),
                Some(Token {
                    tok: Tok::Sym("."),
                    ..
                })
            );
        if qualified {
            self.pos += 1;
            if let Some(Tok::Ident { name, .. }) = self.next().map(|t| &t.tok) {
                return Ok(TypeSpec {
                    namespace: Some(first),
                    name: name.clone(),
                });
            }
            return Err("expected type name after namespace".to_string());
        }
        Ok(TypeSpec {
            namespace: None,
            name: first,
        })
    }
}
