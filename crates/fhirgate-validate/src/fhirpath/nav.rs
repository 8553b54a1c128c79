//! Typed navigation of the JSON (http://hl7.org/fhir/R4/json.html): child elements by name
//! (a choice by its base name, `value` -> whichever `valueX` is present), a primitive's
//! `_name` sibling paired with its value, contained resources typed by their `resourceType`.

use serde_json::Value;

use super::item::{Item, Node};
use crate::invariants::model::{Kind, Model, Ty, UNKNOWN};

pub(crate) struct Nav<'m> {
    pub model: &'m Model,
}

impl Nav<'_> {
    /// The type of an inline resource: its `resourceType` when the model has it.
    pub(crate) fn resource_ty(&self, v: &Value) -> Ty {
        let t = v
            .get("resourceType")
            .and_then(Value::as_str)
            .map_or(UNKNOWN, |n| self.model.ty(n));
        match self.model.kind(t) {
            Some(Kind::Resource) => t,
            _ => UNKNOWN,
        }
    }

    /// The type of a child of an object the model does not describe: extensions are
    /// Extensions everywhere in FHIR, inline resources carry their type, the rest is unknown.
    fn untyped_child(&self, name: &str, v: Option<&Value>) -> Ty {
        if name == "extension" || name == "modifierExtension" {
            return self.model.ty("Extension");
        }
        match v {
            Some(v @ Value::Object(_)) => self.resource_ty(v),
            _ => UNKNOWN,
        }
    }

    pub(crate) fn child<'a>(&self, n: &Node<'a>, name: &str, out: &mut Vec<Item<'a>>) {
        if self.model.kind(n.ty) == Some(Kind::Primitive) {
            // A primitive's id and extensions live in its `_name` sibling.
            if let Some(Value::Object(ext)) = n.ext {
                let ty = match name {
                    "extension" => self.model.ty("Extension"),
                    "id" => self.model.ty("string"),
                    _ => return,
                };
                self.push(ext.get(name), None, ty, out);
            }
            return;
        }
        let Some(Value::Object(obj)) = n.value else {
            return;
        };
        let Some(def) = self.model.get(n.ty) else {
            let v = obj.get(name);
            let ext = obj.get(&format!("_{name}"));
            self.push(v, ext, self.untyped_child(name, v), out);
            return;
        };
        let Some(el) = def.by_name.get(name).and_then(|&i| def.elements.get(i)) else {
            return;
        };
        for t in &el.types {
            self.push(obj.get(&t.json), obj.get(&t.underscored), t.ty, out);
        }
    }

    /// Every child element of `n` (`children()`), in the JSON's order.
    pub(crate) fn children<'a>(&self, n: &Node<'a>, out: &mut Vec<Item<'a>>) {
        if self.model.kind(n.ty) == Some(Kind::Primitive) {
            if let Some(Value::Object(ext)) = n.ext {
                self.push(ext.get("id"), None, self.model.ty("string"), out);
                self.push(ext.get("extension"), None, self.model.ty("Extension"), out);
            }
            return;
        }
        let Some(Value::Object(obj)) = n.value else {
            return;
        };
        let def = self.model.get(n.ty);
        for (k, v) in obj {
            let (name, underscored) = match k.strip_prefix('_') {
                Some(base) if obj.contains_key(base) => continue,
                Some(base) => (base, true),
                None => (k.as_str(), false),
            };
            let (value, ext) = if underscored {
                (None, Some(v))
            } else {
                (Some(v), obj.get(&format!("_{k}")))
            };
            let ty = match def {
                Some(d) => match d.by_json.get(name).and_then(|&(e, t, _)| {
                    d.elements
                        .get(e)
                        .and_then(|el| el.types.get(t))
                        .map(|t| t.ty)
                }) {
                    Some(t) => t,
                    None => continue,
                },
                None => self.untyped_child(name, value),
            };
            self.push(value, ext, ty, out);
        }
    }

    /// Pushes the items of one JSON property (an array or a single value) with its `_`
    /// sibling, skipping the `null`s that only pad arrays.
    pub(crate) fn push<'a>(
        &self,
        v: Option<&'a Value>,
        ext: Option<&'a Value>,
        ty: Ty,
        out: &mut Vec<Item<'a>>,
    ) {
        let resource = self.model.ty("Resource");
        let mut one = |value: Option<&'a Value>, ext: Option<&'a Value>| {
            let value = value.filter(|v| !v.is_null());
            let ext = ext.filter(|v| !v.is_null());
            if value.is_none() && ext.is_none() {
                return;
            }
            let ty = match value {
                Some(v) if ty == resource || (ty == UNKNOWN && v.get("resourceType").is_some()) => {
                    self.resource_ty(v)
                }
                _ => ty,
            };
            out.push(Item::Node(Node { value, ext, ty }));
        };
        match (v, ext) {
            (Some(Value::Array(vs)), e) => {
                let es = match e {
                    Some(Value::Array(es)) => Some(es),
                    _ => None,
                };
                for (i, item) in vs.iter().enumerate() {
                    one(Some(item), es.and_then(|es| es.get(i)));
                }
            }
            (None, Some(Value::Array(es))) => {
                for e in es {
                    one(None, Some(e));
                }
            }
            (v, e) => one(v, e),
        }
    }

    /// `resolve()` of a local reference `#id` to the contained resource it names
    /// (http://hl7.org/fhir/R4/references.html#contained); other references cannot be
    /// resolved without I/O and yield nothing.
    pub(crate) fn resolve_local<'a>(&self, n: &Node<'a>, root: &Node<'a>) -> Option<Node<'a>> {
        let reference = match n.value? {
            Value::Object(o) => o.get("reference")?.as_str()?,
            Value::String(s) => s.as_str(),
            _ => return None,
        };
        let id = reference.strip_prefix('#')?;
        let contained = contained(root.value?)?;
        let found = contained
            .iter()
            .find(|c| c.get("id").and_then(Value::as_str) == Some(id))?;
        Some(Node {
            value: Some(found),
            ext: None,
            ty: self.resource_ty(found),
        })
    }
}

pub(crate) fn contained(resource: &Value) -> Option<&Vec<Value>> {
    match resource {
        Value::Object(o) => o.get("contained").and_then(Value::as_array),
        _ => None,
    }
}
