//! Evaluation of compiled FHIRPath over a resource. Every item carries its model type, so
//! choice elements, `ofType`/`as`/`is` and `descendants()` follow the R4 definitions rather
//! than the JSON's shape. Errors the spec raises (a function given a collection where it
//! needs one item) evaluate to empty here: an invariant is only violated when it is false.

use std::borrow::Cow;

use super::functions::distinct_into;
use super::item::{self, as_str, compare, equals, equivalent, to_bool, Coll, Item, Node};
use super::nav::Nav;
use super::parser::{Env, Expr, Op};
use crate::invariants::model::Model;

/// UCUM's code system (http://hl7.org/fhir/R4/fhirpath.html#vars: `%ucum`).
const UCUM: &str = "http://unitsofmeasure.org";

pub(crate) struct Cx<'m, 'a> {
    pub model: &'m Model,
    pub resource: Node<'a>,
    pub root: Node<'a>,
    pub context: Node<'a>,
}

impl<'a> Cx<'_, 'a> {
    pub(super) fn nav(&self) -> Nav<'_> {
        Nav { model: self.model }
    }

    /// Evaluates a constraint on its context element: `Some(false)` when violated.
    pub(crate) fn holds(&self, e: &Expr) -> Option<bool> {
        let input = [Item::Node(self.context)];
        to_bool(&self.eval(e, &input, &input))
    }

    pub(crate) fn eval(&self, e: &Expr, input: &[Item<'a>], this: &[Item<'a>]) -> Coll<'a> {
        match e {
            Expr::This => this.to_vec(),
            Expr::Env(env) => match env {
                Env::Resource => vec![Item::Node(self.resource)],
                Env::RootResource => vec![Item::Node(self.root)],
                Env::Context => vec![Item::Node(self.context)],
                Env::Ucum => vec![Item::Str(Cow::Borrowed(UCUM))],
            },
            Expr::Str(s) => vec![Item::Str(Cow::Owned(s.clone()))],
            Expr::Num(n, int) => vec![Item::Num(*n, *int)],
            Expr::Bool(b) => vec![Item::Bool(*b)],
            Expr::EmptySet => Vec::new(),
            Expr::Member(focus, name) => {
                let f = self.focus(focus, input, this);
                let mut out = Vec::new();
                for item in &f {
                    let Item::Node(n) = item else { continue };
                    // A path's first step may name the input's type (`Appointment.status`;
                    // http://hl7.org/fhirpath/N1/#path-selection).
                    if focus.is_none() && name.starts_with(|c: char| c.is_ascii_uppercase()) {
                        let t = self.model.ty(name);
                        if self.model.is_a(n.ty, t) {
                            out.push(item.clone());
                            continue;
                        }
                    }
                    self.nav().child(n, name, &mut out);
                }
                out
            }
            Expr::OfType(focus, t) => {
                let f = self.focus(focus, input, this);
                f.into_iter().filter(|i| self.is_a(i, *t)).collect()
            }
            Expr::IsFn(focus, t) => {
                let f = self.focus(focus, input, this);
                match f.as_slice() {
                    [i] => vec![Item::Bool(self.is_a(i, *t))],
                    _ => Vec::new(),
                }
            }
            Expr::Is(c, t) => match self.eval(c, input, this).as_slice() {
                [i] => vec![Item::Bool(self.is_a(i, *t))],
                _ => Vec::new(),
            },
            Expr::As(c, t) => {
                let c = self.eval(c, input, this);
                c.into_iter().filter(|i| self.is_a(i, *t)).collect()
            }
            Expr::Index(c, idx) => {
                let c = self.eval(c, input, this);
                match self.eval(idx, input, this).as_slice() {
                    [Item::Num(n, true)] if *n >= 0.0 => {
                        c.into_iter().nth(*n as usize).into_iter().collect()
                    }
                    _ => Vec::new(),
                }
            }
            Expr::Neg(c) => match self.eval(c, input, this).as_slice() {
                [Item::Num(n, int)] => vec![Item::Num(-n, *int)],
                _ => Vec::new(),
            },
            Expr::Bin(op, l, r) => self.binary(*op, l, r, input, this),
            Expr::Call(focus, fun, args) => {
                let f = self.focus(focus, input, this);
                self.call(*fun, f, args, this)
            }
        }
    }

    fn focus(&self, focus: &Option<Box<Expr>>, input: &[Item<'a>], this: &[Item<'a>]) -> Coll<'a> {
        match focus {
            Some(f) => self.eval(f, input, this),
            None => input.to_vec(),
        }
    }

    fn is_a(&self, item: &Item<'_>, t: u32) -> bool {
        let own = match item {
            Item::Node(n) => n.ty,
            Item::Bool(_) => self.model.ty("boolean"),
            Item::Num(_, true) => self.model.ty("integer"),
            Item::Num(_, false) => self.model.ty("decimal"),
            Item::Str(_) => self.model.ty("string"),
        };
        self.model.is_a(own, t)
    }

    fn binary(
        &self,
        op: Op,
        l: &Expr,
        r: &Expr,
        input: &[Item<'a>],
        this: &[Item<'a>],
    ) -> Coll<'a> {
        let m = self.model;
        if matches!(op, Op::And | Op::Or | Op::Xor | Op::Implies) {
            let a = to_bool(&self.eval(l, input, this));
            // Short circuits where the left side decides (three-valued logic,
            // http://hl7.org/fhirpath/N1/#boolean-logic).
            match (op, a) {
                (Op::And, Some(false)) => return vec![Item::Bool(false)],
                (Op::Or, Some(true)) => return vec![Item::Bool(true)],
                (Op::Implies, Some(false)) => return vec![Item::Bool(true)],
                _ => {}
            }
            let b = to_bool(&self.eval(r, input, this));
            let v = match op {
                Op::And => match (a, b) {
                    (_, Some(false)) => Some(false),
                    (Some(true), Some(true)) => Some(true),
                    _ => None,
                },
                Op::Or => match (a, b) {
                    (_, Some(true)) => Some(true),
                    (Some(false), Some(false)) => Some(false),
                    _ => None,
                },
                Op::Xor => a.zip(b).map(|(x, y)| x != y),
                _ => match (a, b) {
                    (_, Some(true)) => Some(true),
                    (Some(true), other) => other,
                    _ => None,
                },
            };
            return v.map(Item::Bool).into_iter().collect();
        }
        let a = self.eval(l, input, this);
        let b = self.eval(r, input, this);
        match op {
            Op::Union => {
                let mut out = Vec::new();
                distinct_into(m, &mut out, a);
                distinct_into(m, &mut out, b);
                out
            }
            Op::Eq | Op::Ne => {
                if a.is_empty() || b.is_empty() {
                    return Vec::new();
                }
                let eq = if a.len() == b.len() {
                    let mut all = Some(true);
                    for (x, y) in a.iter().zip(&b) {
                        match equals(m, x, y) {
                            Some(true) => {}
                            Some(false) => {
                                all = Some(false);
                                break;
                            }
                            None => all = None,
                        }
                    }
                    all
                } else {
                    Some(false)
                };
                eq.map(|e| Item::Bool(e == (op == Op::Eq)))
                    .into_iter()
                    .collect()
            }
            Op::Equiv | Op::NotEquiv => {
                let eq =
                    a.len() == b.len() && a.iter().all(|x| b.iter().any(|y| equivalent(m, x, y)));
                vec![Item::Bool(eq == (op == Op::Equiv))]
            }
            Op::Lt | Op::Le | Op::Gt | Op::Ge => match (a.as_slice(), b.as_slice()) {
                ([x], [y]) => compare(m, x, y)
                    .map(|o| {
                        Item::Bool(match op {
                            Op::Lt => o.is_lt(),
                            Op::Le => o.is_le(),
                            Op::Gt => o.is_gt(),
                            _ => o.is_ge(),
                        })
                    })
                    .into_iter()
                    .collect(),
                _ => Vec::new(),
            },
            Op::In | Op::Contains => {
                let (needle, hay) = if op == Op::In { (a, b) } else { (b, a) };
                match needle.as_slice() {
                    [x] => vec![Item::Bool(
                        hay.iter().any(|y| equals(m, x, y) == Some(true)),
                    )],
                    _ => Vec::new(),
                }
            }
            Op::Plus | Op::Concat => {
                let s = |c: &Coll<'a>| item::to_string(m, c).map(Cow::into_owned);
                match (op, a.as_slice(), b.as_slice()) {
                    (Op::Plus, [Item::Num(x, i), ..], [Item::Num(y, j)]) if a.len() == 1 => {
                        vec![Item::Num(x + y, *i && *j)]
                    }
                    (Op::Concat, _, _) => {
                        let text = s(&a).unwrap_or_default() + &s(&b).unwrap_or_default();
                        vec![Item::Str(Cow::Owned(text))]
                    }
                    _ => match (as_str(m, &a), as_str(m, &b)) {
                        (Some(x), Some(y)) => vec![Item::Str(Cow::Owned(format!("{x}{y}")))],
                        _ => Vec::new(),
                    },
                }
            }
            Op::Minus => match (a.as_slice(), b.as_slice()) {
                ([Item::Num(x, i)], [Item::Num(y, j)]) => vec![Item::Num(x - y, *i && *j)],
                _ => Vec::new(),
            },
            Op::And | Op::Or | Op::Xor | Op::Implies => Vec::new(),
        }
    }
}
