//! FHIRPath evaluator over `serde_json::Value` with FHIR typing.
//!
//! Every collection item carries its FHIR type name so that `ofType`, `is`
//! and the later index conversion never guess from JSON shape.
use serde_json::Value;

use super::item::{canonical_type, item_eq, to_bool, union_into, Coll, Item};
use super::parser::{Expr, Func, Logic, Step, TypeSpec};
use crate::extract::reference::parse_reference;
use crate::model::TypeModel;

pub(crate) struct Evaluator<'a> {
    model: &'a TypeModel,
    root: Item<'a>,
}

impl<'a> Evaluator<'a> {
    pub(crate) fn new(model: &'a TypeModel, resource: &'a Value, resource_type: &'a str) -> Self {
        Evaluator {
            model,
            root: Item::Node {
                value: resource,
                ty: resource_type,
            },
        }
    }

    pub(crate) fn root(&self) -> Item<'a> {
        self.root
    }

    /// Evaluates `e` with the resource as input and `$this`.
    pub(crate) fn eval_root(&self, e: &'a Expr) -> Coll<'a> {
        let input = [self.root];
        self.eval(e, &input, &input)
    }

    /// Evaluates `e` relative to one item (composite components).
    pub(crate) fn eval_on(&self, e: &'a Expr, item: Item<'a>) -> Coll<'a> {
        let input = [item];
        self.eval(e, &input, &input)
    }

    pub(crate) fn is_a(&self, item: &Item<'_>, ts: &TypeSpec) -> bool {
        self.model.is_a(item.type_name(), canonical_type(ts))
    }

    fn eval(&self, e: &'a Expr, input: &[Item<'a>], this: &[Item<'a>]) -> Coll<'a> {
        match e {
            Expr::Term(step) => self.step(step, input, true),
            Expr::Invoke(focus, step) => {
                let f = self.eval(focus, input, this);
                self.step(step, &f, false)
            }
            Expr::This => this.to_vec(),
            Expr::Root => vec![self.root],
            Expr::Str(s) => vec![Item::Str(s)],
            Expr::Num(n) => vec![Item::Num(n)],
            Expr::Bool(b) => vec![Item::Bool(*b)],
            Expr::EmptySet => Vec::new(),
            Expr::Index(c, idx) => {
                let c = self.eval(c, input, this);
                let idx = self.eval(idx, input, this);
                match idx.as_slice() {
                    [Item::Num(n)] => n
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| c.get(i).copied())
                        .into_iter()
                        .collect(),
                    _ => Vec::new(),
                }
            }
            Expr::Union(l, r) => {
                let mut out = self.eval(l, input, this);
                union_into(&mut out, self.eval(r, input, this));
                out
            }
            Expr::Equals(l, r, negate) => {
                let l = self.eval(l, input, this);
                let r = self.eval(r, input, this);
                if l.is_empty() || r.is_empty() {
                    return Vec::new();
                }
                let eq = l.len() == r.len() && l.iter().zip(&r).all(|(a, b)| item_eq(a, b));
                vec![Item::Bool(eq != *negate)]
            }
            Expr::Logic(op, l, r) => {
                let a = to_bool(&self.eval(l, input, this));
                let b = to_bool(&self.eval(r, input, this));
                // Three-valued logic (fhirpath.html#boolean-logic).
                let v = match op {
                    Logic::And => match (a, b) {
                        (Some(false), _) | (_, Some(false)) => Some(false),
                        (Some(true), Some(true)) => Some(true),
                        _ => None,
                    },
                    Logic::Or => match (a, b) {
                        (Some(true), _) | (_, Some(true)) => Some(true),
                        (Some(false), Some(false)) => Some(false),
                        _ => None,
                    },
                    Logic::Xor => a.zip(b).map(|(x, y)| x != y),
                    Logic::Implies => match (a, b) {
                        (Some(false), _) | (_, Some(true)) => Some(true),
                        (Some(true), other) => other,
                        (None, _) => None,
                    },
                };
                v.map(Item::Bool).into_iter().collect()
            }
            Expr::Is(c, ts) => match self.eval(c, input, this).as_slice() {
                [item] => vec![Item::Bool(self.is_a(item, ts))],
                _ => Vec::new(),
            },
            Expr::As(c, ts) => {
                let c = self.eval(c, input, this);
                c.into_iter().filter(|i| self.is_a(i, ts)).collect()
            }
        }
    }

    /// `at_start`: the step begins a path, so a capitalised identifier may
    /// name the input's type (`Patient.name`; fhirpath.html#path-selection).
    fn step(&self, step: &'a Step, input: &[Item<'a>], at_start: bool) -> Coll<'a> {
        match step {
            Step::Member(name) => {
                let mut out = Vec::new();
                let type_like = at_start && name.starts_with(|c: char| c.is_ascii_uppercase());
                for item in input {
                    if type_like && self.model.is_a(item.type_name(), name) {
                        out.push(*item);
                    } else {
                        self.child(item, name, &mut out);
                    }
                }
                out
            }
            Step::Func(f) => self.func(f, input),
        }
    }

    fn func(&self, f: &'a Func, input: &[Item<'a>]) -> Coll<'a> {
        match f {
            Func::Where(cond) => input
                .iter()
                .filter(|i| {
                    let one = [**i];
                    to_bool(&self.eval(cond, &one, &one)) == Some(true)
                })
                .copied()
                .collect(),
            Func::Exists(None) => vec![Item::Bool(!input.is_empty())],
            Func::Exists(Some(cond)) => {
                let found = self.func_where_any(cond, input);
                vec![Item::Bool(found)]
            }
            Func::Empty => vec![Item::Bool(input.is_empty())],
            Func::Not => to_bool(input).map(|b| Item::Bool(!b)).into_iter().collect(),
            Func::HasValue => {
                let has = matches!(input, [Item::Node { ty, .. }] if self.model.is_primitive(ty));
                vec![Item::Bool(has)]
            }
            Func::First => input.first().copied().into_iter().collect(),
            Func::Last => input.last().copied().into_iter().collect(),
            Func::Resolve => input.iter().filter_map(|i| self.resolve(i)).collect(),
            Func::OfType(ts) | Func::As(ts) => {
                input.iter().filter(|i| self.is_a(i, ts)).copied().collect()
            }
            Func::Is(ts) => match input {
                [item] => vec![Item::Bool(self.is_a(item, ts))],
                _ => Vec::new(),
            },
        }
    }

    fn func_where_any(&self, cond: &'a Expr, input: &[Item<'a>]) -> bool {
        input.iter().any(|i| {
            let one = [*i];
            to_bool(&self.eval(cond, &one, &one)) == Some(true)
        })
    }

    /// Child navigation, typed by the model; `name` may be a choice base
    /// (`value` -> whichever `value[x]` is present, typed by its suffix).
    fn child(&self, item: &Item<'a>, name: &str, out: &mut Coll<'a>) {
        let Item::Node {
            value: Value::Object(map),
            ty,
        } = item
        else {
            return;
        };
        let Some(td) = self.model.get(ty) else {
            return;
        };
        if let Some(pd) = td.props.get(name) {
            if let Some(v) = map.get(name) {
                self.push_flat(v, &pd.ty, out);
            }
        } else if let Some(choices) = td.choices.get(name) {
            for (json_name, cty) in choices {
                if let Some(v) = map.get(json_name) {
                    self.push_flat(v, cty, out);
                }
            }
        }
    }

    fn push_flat(&self, v: &'a Value, ty: &'a str, out: &mut Coll<'a>) {
        match v {
            Value::Array(items) => {
                for i in items {
                    self.push_one(i, ty, out);
                }
            }
            other => self.push_one(other, ty, out),
        }
    }

    fn push_one(&self, v: &'a Value, ty: &'a str, out: &mut Coll<'a>) {
        if v.is_null() {
            return; // json.html#primitive: nulls only pad arrays
        }
        if ty == "ResourceList" {
            // An inline resource (`contained`, `Bundle.entry.resource`) is typed
            // by its own `resourceType`.
            let rt = v.get("resourceType").and_then(Value::as_str);
            if let Some(rt) = rt.and_then(|r| self.model.resource_name(r)) {
                out.push(Item::Node { value: v, ty: rt });
            }
            return;
        }
        out.push(Item::Node { value: v, ty });
    }

    /// `resolve()` without I/O (see [`Item::Resolved`]); `#id` references are
    /// resolved for real against `contained` (references.html#contained).
    fn resolve(&self, item: &Item<'a>) -> Option<Item<'a>> {
        let Item::Node { value, ty } = *item else {
            return None;
        };
        let reference = if self.model.is_a(ty, "Reference") {
            value.get("reference").and_then(Value::as_str)
        } else if self.model.is_a(ty, "uri") {
            value.as_str()
        } else {
            return None;
        };
        if let Some(local) = reference.and_then(|r| r.strip_prefix('#')) {
            let Item::Node { value: root, .. } = self.root else {
                return None;
            };
            let contained = root.get("contained").and_then(Value::as_array)?;
            let found = contained
                .iter()
                .find(|c| c.get("id").and_then(Value::as_str) == Some(local))?;
            let mut out = Vec::new();
            self.push_one(found, "ResourceList", &mut out);
            return out.first().copied();
        }
        if let Some(parts) = reference.and_then(|r| parse_reference(r, self.model)) {
            return Some(Item::Resolved(parts.target_type));
        }
        // A logical reference may still declare its target type
        // (Reference.type, R4 references.html#Reference).
        let declared = value.get("type").and_then(Value::as_str)?;
        let name = declared
            .strip_prefix("http://hl7.org/fhir/StructureDefinition/")
            .unwrap_or(declared);
        self.model.resource_name(name).map(Item::Resolved)
    }
}
