//! The functions of FHIRPath (http://hl7.org/fhirpath/N1/#functions) the evaluator
//! implements, and duplicate elimination for `|`, `union()` and `distinct()`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use serde_json::Value;

use super::eval::Cx;
use super::item::{self, as_str, equals, has_value, to_bool, Coll, Item};
use super::parser::{Expr, Fun};
use crate::invariants::model::Model;

impl<'a> Cx<'_, 'a> {
    fn each(&self, arg: Option<&Expr>, item: &Item<'a>) -> Coll<'a> {
        let one = [item.clone()];
        arg.map(|e| self.eval(e, &one, &one)).unwrap_or_default()
    }

    pub(super) fn call(
        &self,
        fun: Fun,
        input: Coll<'a>,
        args: &[Expr],
        this: &[Item<'a>],
    ) -> Coll<'a> {
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
pub(super) fn distinct_into<'a>(m: &Model, out: &mut Coll<'a>, more: Coll<'a>) {
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
