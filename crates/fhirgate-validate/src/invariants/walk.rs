//! One pass over a resource, typed by the model: at each element present, the constraints of
//! its type and of its element definition, the native ele-1/ext-1, and Reference target types.
//! Only constraints whose context element is present are evaluated.

use serde_json::{Map, Value};

use super::model::{Element, Kind, TypeDef, UNKNOWN};
use super::refs::target_types;
use super::{Invariants, Rule, Violation};
use crate::fhirpath::nav::{contained, Nav};
use crate::fhirpath::{Cx, Node};
use crate::MAX_ISSUES;

pub(super) struct Walk<'i, 'a> {
    pub inv: &'i Invariants,
    pub out: Vec<Violation>,
    /// Structure errors the schema cannot see (two types of one choice element).
    pub structure: Vec<Violation>,
    pub path: String,
    pub resource: Node<'a>,
    pub root: Node<'a>,
}

impl<'a> Walk<'_, 'a> {
    fn nav(&self) -> Nav<'_> {
        Nav {
            model: &self.inv.model,
        }
    }

    fn report(&mut self, key: &str, text: &str) {
        if self.out.len() < MAX_ISSUES - 1 {
            self.out.push(Violation {
                key: key.to_owned(),
                expression: self.path.clone(),
                text: text.to_owned(),
            });
        }
    }

    fn run(&mut self, rules: &[Rule], n: Node<'a>) {
        for rule in rules {
            let cx = Cx {
                model: &self.inv.model,
                resource: self.resource,
                root: self.root,
                context: n,
            };
            if cx.holds(&rule.expr) == Some(false) {
                if let Some(c) = self.inv.model.constraints.get(rule.constraint) {
                    self.report(&c.key, &c.human);
                }
            }
        }
    }

    /// A resource: the root, or one in `contained` (whose `%resource` it becomes, while
    /// `%rootResource` stays the container; fhirpath.html#variables in the FHIR spec).
    pub(super) fn resource(&mut self, n: Node<'a>) {
        let outer = self.resource;
        self.resource = n;
        let inv = self.inv;
        if let Some(rules) = inv.by_type.get(n.ty as usize) {
            self.run(rules, n);
        }
        self.object(n);
        self.resource = outer;
    }

    /// The children of an object element of type `n.ty`.
    fn object(&mut self, n: Node<'a>) {
        let Some(Value::Object(obj)) = n.value else {
            return;
        };
        let inv = self.inv;
        let def = inv.model.get(n.ty);
        if let Some(d) = def {
            self.one_type_per_choice(d, obj);
        }
        for (k, v) in obj {
            let (name, value, ext) = match k.strip_prefix('_') {
                Some(base) if obj.contains_key(base) => continue,
                Some(base) => (base, None, Some(v)),
                None => (k.as_str(), Some(v), obj.get(&format!("_{k}"))),
            };
            match def {
                Some(d) => {
                    let Some(&(e, t, _)) = d.by_json.get(name) else {
                        continue; // not R4: the schema has refused it already
                    };
                    let (Some(el), Some(ety)) = (
                        d.elements.get(e),
                        d.elements.get(e).and_then(|el| el.types.get(t)),
                    ) else {
                        continue;
                    };
                    let rules = inv.by_element.get(&(n.ty, e)).map(Vec::as_slice);
                    self.element(
                        k.trim_start_matches('_'),
                        value,
                        ext,
                        ety.ty,
                        Some(el),
                        rules,
                    );
                }
                None => {
                    if matches!(v, Value::Object(_) | Value::Array(_)) {
                        let ty = match (name, value) {
                            ("extension" | "modifierExtension", _) => inv.model.ty("Extension"),
                            (_, Some(v @ Value::Object(_))) => self.nav().resource_ty(v),
                            _ => UNKNOWN,
                        };
                        self.element(name, value, ext, ty, None, None);
                    }
                }
            }
        }
    }

    /// json.html#choice: "only one of the types may be used" in one instance, so
    /// `deceasedBoolean` with `deceasedDateTime` (or its `_deceasedDateTime`) is two
    /// values in a 0..1 element, which the R4 JSON Schema does not catch.
    fn one_type_per_choice(&mut self, d: &TypeDef, obj: &Map<String, Value>) {
        let mut seen: Vec<(usize, &str)> = Vec::new();
        for k in obj.keys() {
            let name = k.strip_prefix('_').unwrap_or(k);
            let Some(&(e, _, _)) = d.by_json.get(name) else {
                continue;
            };
            if !d.elements.get(e).is_some_and(|el| el.choice) {
                continue;
            }
            match seen.iter().find(|(s, _)| *s == e) {
                Some((_, first)) if *first != name => {
                    if self.structure.len() < MAX_ISSUES - 1 {
                        self.structure.push(Violation {
                            key: "json-choice".to_owned(),
                            expression: format!("{}.{name}", self.path),
                            text: format!(
                                "{first} and {name} are two types of one choice element: only \
                                 one may be present (http://hl7.org/fhir/R4/json.html#choice)"
                            ),
                        });
                    }
                }
                Some(_) => {}
                None => seen.push((e, name)),
            }
        }
    }

    fn element(
        &mut self,
        name: &str,
        value: Option<&'a Value>,
        ext: Option<&'a Value>,
        ty: u32,
        el: Option<&Element>,
        rules: Option<&[Rule]>,
    ) {
        let len = self.path.len();
        self.path.push('.');
        self.path.push_str(name);
        match (value, ext) {
            (Some(Value::Array(vs)), e) => {
                let es = e.and_then(Value::as_array);
                for (i, v) in vs.iter().enumerate() {
                    let e = es.and_then(|es| es.get(i));
                    self.indexed(i, Some(v), e, ty, el, rules);
                }
            }
            (None, Some(Value::Array(es))) => {
                for (i, e) in es.iter().enumerate() {
                    self.indexed(i, None, Some(e), ty, el, rules);
                }
            }
            (v, e) => self.item(v, e, ty, el, rules),
        }
        self.path.truncate(len);
    }

    fn indexed(
        &mut self,
        i: usize,
        v: Option<&'a Value>,
        e: Option<&'a Value>,
        ty: u32,
        el: Option<&Element>,
        rules: Option<&[Rule]>,
    ) {
        let len = self.path.len();
        self.path.push('[');
        self.path.push_str(&i.to_string());
        self.path.push(']');
        self.item(v, e, ty, el, rules);
        self.path.truncate(len);
    }

    fn item(
        &mut self,
        value: Option<&'a Value>,
        ext: Option<&'a Value>,
        ty: u32,
        el: Option<&Element>,
        rules: Option<&[Rule]>,
    ) {
        let value = value.filter(|v| !v.is_null());
        let ext = ext.filter(|v| !v.is_null());
        if value.is_none() && ext.is_none() {
            return;
        }
        let inv = self.inv;
        let resource = inv.model.ty("Resource");
        let ty = match value {
            Some(v) if ty == resource => self.nav().resource_ty(v),
            _ => ty,
        };
        let n = Node { value, ext, ty };
        if let Some(rules) = rules {
            self.run(rules, n);
        }
        match inv.model.kind(ty) {
            Some(Kind::Resource) => self.resource(n),
            Some(Kind::Primitive) => {
                if let Some(Value::Object(e)) = ext {
                    if value.is_none() && only_id(e) {
                        self.native("ele-1");
                    }
                    let extension = inv.model.ty("Extension");
                    self.element("extension", e.get("extension"), None, extension, None, None);
                }
            }
            Some(Kind::Complex | Kind::Backbone) => {
                if let Some(Value::Object(o)) = value {
                    if only_id(o) {
                        self.native("ele-1");
                    }
                    if ty == inv.extension && has_extension(o) == has_value(o) {
                        self.native("ext-1");
                    }
                    if let Some(targets) = el.and_then(|el| el.targets.as_deref()) {
                        if ty == inv.reference {
                            self.targets(value, targets);
                        }
                    }
                }
                if let Some(rules) = inv.by_type.get(ty as usize) {
                    self.run(rules, n);
                }
                self.object(n);
            }
            None => self.object(n),
        }
    }

    fn native(&mut self, key: &str) {
        let text = self
            .inv
            .model
            .constraints
            .iter()
            .find(|c| c.key == key)
            .map_or(String::new(), |c| c.human.clone());
        self.report(key, &text);
    }

    /// ElementDefinition.type.targetProfile: a Reference whose target type is known must
    /// name one the element allows.
    fn targets(&mut self, value: Option<&'a Value>, allowed: &[String]) {
        let Some(v) = value else { return };
        let local = self.root.value.and_then(contained);
        let bad = target_types(v, local)
            .into_iter()
            .any(|t| !allowed.iter().any(|a| a == t));
        if bad {
            let text = format!(
                "the reference's target type is not one this element allows (Reference({}))",
                allowed.join(" | ")
            );
            self.report("fhirgate-ref-1", &text);
        }
    }
}

/// ele-1's "children().count() > id.count()" fails for an element with nothing but an id.
fn only_id(o: &Map<String, Value>) -> bool {
    o.keys().all(|k| k == "id")
}

fn has_extension(o: &Map<String, Value>) -> bool {
    o.get("extension")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
}

/// `value.exists()` on an Extension: any `valueX` (or its `_valueX` sibling).
fn has_value(o: &Map<String, Value>) -> bool {
    o.keys().any(|k| {
        k.trim_start_matches('_')
            .strip_prefix("value")
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
    })
}
