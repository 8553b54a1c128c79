//! Evaluation of compiled FHIRPath over a resource. Every item carries its model type, so
//! choice elements, `ofType`/`as`/`is` and `descendants()` follow the R4 definitions rather
//! than the JSON's shape. Errors the spec raises (a function given a collection where it
//! needs one item) evaluate to empty here: an invariant is only violated when it is false.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use serde_json::Value;

use super::item::{
    self, as_str, compare, equals, equivalent, has_value, to_bool, Coll, Item, Node,
};
use super::nav::Nav;
use super::parser::{Env, Expr, Fun, Op};
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
    fn nav(&self) -> Nav<'_> {
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

    fn each(&self, arg: Option<&Expr>, item: &Item<'a>) -> Coll<'a> {
        let one = [item.clone()];
        arg.map(|e| self.eval(e, &one, &one)).unwrap_or_default()
    }

    fn call(&self, fun: Fun, input: Coll<'a>, args: &[Expr], this: &[Item<'a>]) -> Coll<'a> {
        let m = self.model;
        let arg = args.first();
        let b = |v: bool| vec![Item::Bool(v)];
        let all = |pred: &dyn Fn(Option<bool>) -> bool| {
            input.iter().all(|i| pred(to_bool(std::slice::from_ref(i))))
        };
        let any = |pred: &dyn Fn(Option<bool>) -> bool| {
            input.iter().any(|i| pred(to_bool(std::slice::from_ref(i))))
        };
        match fun {
            Fun::Empty => b(input.is_empty()),
            Fun::Exists => match arg {
                None => b(!input.is_empty()),
                Some(_) => b(input
                    .iter()
                    .any(|i| to_bool(&self.each(arg, i)) == Some(true))),
            },
            Fun::All => b(input
                .iter()
                .all(|i| to_bool(&self.each(arg, i)) == Some(true))),
            Fun::AllTrue => b(all(&|v| v == Some(true))),
            Fun::AllFalse => b(all(&|v| v == Some(false))),
            Fun::AnyTrue => b(any(&|v| v == Some(true))),
            Fun::AnyFalse => b(any(&|v| v == Some(false))),
            Fun::Count => vec![Item::Num(input.len() as f64, true)],
            Fun::Distinct => {
                let mut out = Vec::new();
                distinct_into(m, &mut out, input);
                out
            }
            Fun::IsDistinct => {
                let n = input.len();
                let mut out = Vec::new();
                distinct_into(m, &mut out, input);
                b(out.len() == n)
            }
            Fun::Where => input
                .into_iter()
                .filter(|i| to_bool(&self.each(arg, i)) == Some(true))
                .collect(),
            Fun::Select => input.iter().flat_map(|i| self.each(arg, i)).collect(),
            Fun::First => input.into_iter().take(1).collect(),
            Fun::Last => input.into_iter().last().into_iter().collect(),
            Fun::Tail => input.into_iter().skip(1).collect(),
            Fun::Single => match input.len() {
                1 => input,
                _ => Vec::new(),
            },
            Fun::Not => to_bool(&input)
                .map(|v| Item::Bool(!v))
                .into_iter()
                .collect(),
            Fun::HasValue => b(matches!(input.as_slice(), [Item::Node(n)] if has_value(m, n))),
            Fun::Children => {
                let mut out = Vec::new();
                for i in &input {
                    if let Item::Node(n) = i {
                        self.nav().children(n, &mut out);
                    }
                }
                out
            }
            Fun::Descendants => {
                let mut out = Vec::new();
                let mut start = 0;
                for i in &input {
                    if let Item::Node(n) = i {
                        self.nav().children(n, &mut out);
                    }
                }
                // Breadth first over what was found; JSON depth is bounded by the parser.
                while start < out.len() {
                    let end = out.len();
                    for k in start..end {
                        if let Some(Item::Node(n)) = out.get(k).cloned() {
                            self.nav().children(&n, &mut out);
                        }
                    }
                    start = end;
                }
                out
            }
            Fun::Trace => input,
            Fun::Iif => {
                let cond = arg.map(|e| self.eval(e, &input, this)).unwrap_or_default();
                let pick = if to_bool(&cond) == Some(true) {
                    args.get(1)
                } else {
                    args.get(2)
                };
                pick.map(|e| self.eval(e, &input, this)).unwrap_or_default()
            }
            Fun::Intersect | Fun::Exclude => {
                let other = arg.map(|e| self.eval(e, this, this)).unwrap_or_default();
                let keep = fun == Fun::Intersect;
                let picked: Coll<'a> = input
                    .into_iter()
                    .filter(|i| other.iter().any(|o| equals(m, i, o) == Some(true)) == keep)
                    .collect();
                if keep {
                    let mut out = Vec::new();
                    distinct_into(m, &mut out, picked);
                    out
                } else {
                    picked
                }
            }
            Fun::Union | Fun::Combine => {
                let other = arg.map(|e| self.eval(e, this, this)).unwrap_or_default();
                if fun == Fun::Combine {
                    input.into_iter().chain(other).collect()
                } else {
                    let mut out = Vec::new();
                    distinct_into(m, &mut out, input);
                    distinct_into(m, &mut out, other);
                    out
                }
            }
            Fun::StartsWith | Fun::EndsWith | Fun::Contains => {
                let needle = arg.map(|e| self.eval(e, this, this)).unwrap_or_default();
                match (as_str(m, &input), as_str(m, &needle)) {
                    (Some(s), Some(n)) => b(match fun {
                        Fun::StartsWith => s.starts_with(n),
                        Fun::EndsWith => s.ends_with(n),
                        _ => s.contains(n),
                    }),
                    _ => Vec::new(),
                }
            }
            Fun::Substring => {
                let num = |e: Option<&Expr>| match e.map(|e| self.eval(e, this, this)).as_deref() {
                    Some([Item::Num(n, true)]) if *n >= 0.0 => Some(*n as usize),
                    _ => None,
                };
                let Some(s) = as_str(m, &input) else {
                    return Vec::new();
                };
                let Some(start) = num(arg) else {
                    return Vec::new();
                };
                let chars = s.chars().skip(start);
                let text: String = match args.get(1) {
                    Some(_) => match num(args.get(1)) {
                        Some(len) => chars.take(len).collect(),
                        None => return Vec::new(),
                    },
                    None => chars.collect(),
                };
                if start >= s.chars().count() {
                    return Vec::new();
                }
                vec![Item::Str(Cow::Owned(text))]
            }
            Fun::Length => as_str(m, &input)
                .map(|s| Item::Num(s.chars().count() as f64, true))
                .into_iter()
                .collect(),
            Fun::Upper | Fun::Lower => as_str(m, &input)
                .map(|s| {
                    Item::Str(Cow::Owned(if fun == Fun::Upper {
                        s.to_uppercase()
                    } else {
                        s.to_lowercase()
                    }))
                })
                .into_iter()
                .collect(),
            Fun::ToStringFn => item::to_string(m, &input)
                .map(|s| Item::Str(Cow::Owned(s.into_owned())))
                .into_iter()
                .collect(),
            Fun::ToInteger => match input.as_slice() {
                [Item::Num(n, true)] => vec![Item::Num(*n, true)],
                [Item::Bool(v)] => vec![Item::Num(f64::from(u8::from(*v)), true)],
                _ => as_str(m, &input)
                    .and_then(|s| s.parse::<i64>().ok())
                    .map(|n| Item::Num(n as f64, true))
                    .into_iter()
                    .collect(),
            },
            Fun::Resolve => input
                .iter()
                .filter_map(|i| match i {
                    Item::Node(n) => self.nav().resolve_local(n, &self.root),
                    _ => None,
                })
                .map(Item::Node)
                .collect(),
        }
    }
}

/// Appends the items of `more` not already in `out` (`=` equality; nodes by identity too),
/// hashing so that a large collection does not make this quadratic.
fn distinct_into<'a>(m: &Model, out: &mut Coll<'a>, more: Coll<'a>) {
    let mut seen: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, item) in out.iter().enumerate() {
        seen.entry(key(m, item)).or_default().push(i);
    }
    for item in more {
        let k = key(m, &item);
        let dup = seen.get(&k).is_some_and(|idx| {
            idx.iter().any(|&j| {
                out.get(j)
                    .is_some_and(|o| equals(m, o, &item) == Some(true) || same(o, &item))
            })
        });
        if !dup {
            seen.entry(k).or_default().push(out.len());
            out.push(item);
        }
    }
}

fn same(a: &Item<'_>, b: &Item<'_>) -> bool {
    match (a, b) {
        (Item::Node(x), Item::Node(y)) => {
            x.ty == y.ty
                && x.value.map(std::ptr::from_ref) == y.value.map(std::ptr::from_ref)
                && x.ext.map(std::ptr::from_ref) == y.ext.map(std::ptr::from_ref)
        }
        _ => false,
    }
}

/// A hash consistent with `equals` (equal values hash alike).
fn key(m: &Model, item: &Item<'_>) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    match item::prim(m, item) {
        item::Prim::Str(s) | item::Prim::Date(s) | item::Prim::Time(s) => s.hash(&mut h),
        item::Prim::Num(n) => n.to_bits().hash(&mut h),
        item::Prim::Bool(v) => v.hash(&mut h),
        item::Prim::Quantity(_) | item::Prim::Complex(_) => 1u8.hash(&mut h),
        item::Prim::None => match item {
            Item::Node(n) => n
                .ext
                .map(|v| std::ptr::from_ref::<Value>(v) as usize)
                .hash(&mut h),
            _ => 2u8.hash(&mut h),
        },
    }
    h.finish()
}
