//! The R4 type model the invariants run on, loaded from `schemas/r4-elements.json`
//! (generated from the R4 StructureDefinitions by `tools/gen_elements.py`): per type, its
//! kind, base type, elements (JSON names, types, Reference targets) and constraints.

use std::collections::HashMap;

use serde::Deserialize;

/// A type of the model, by index; [`UNKNOWN`] for content the model does not describe (a
/// contained resource of a type that is not served).
pub(crate) type Ty = u32;
pub(crate) const UNKNOWN: Ty = u32::MAX;

const ELEMENTS_TEXT: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../schemas/r4-elements.json"
));

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Resource,
    Complex,
    Primitive,
    Backbone,
}

/// One constraint (ElementDefinition.constraint) where it is declared.
#[derive(Debug)]
pub struct ConstraintDef {
    pub key: String,
    /// `error` or `warning` (ElementDefinition.constraint.severity).
    pub severity: String,
    pub human: String,
    pub expression: String,
    /// The type or element path the constraint is declared on.
    pub context: String,
}

#[derive(Debug)]
pub(crate) struct ElementType {
    pub ty: Ty,
    pub json: String,
    /// The `_name` sibling carrying a primitive's id and extensions (json.html#primitive).
    pub underscored: String,
}

#[derive(Debug)]
pub(crate) struct Element {
    pub types: Vec<ElementType>,
    /// A choice (`deceased[x]`): its JSON names are the name plus the type (json.html#choice).
    pub choice: bool,
    /// Max cardinality above 1: a JSON array.
    pub repeats: bool,
    /// Allowed Reference targets; `None` when any resource is allowed.
    pub targets: Option<Vec<String>>,
    /// Indexes into [`Model::constraints`].
    pub constraints: Vec<usize>,
}

#[derive(Debug)]
pub(crate) struct TypeDef {
    pub name: String,
    pub kind: Kind,
    pub base: Option<Ty>,
    pub constraints: Vec<usize>,
    pub elements: Vec<Element>,
    /// Element name (a choice by its base name, `value`) -> element.
    pub by_name: HashMap<String, usize>,
    /// JSON property (`valueQuantity`, `_birthDate`) -> (element, index in its types,
    /// whether the property is the `_` sibling).
    pub by_json: HashMap<String, (usize, usize, bool)>,
}

pub(crate) struct Model {
    pub types: Vec<TypeDef>,
    pub by_name: HashMap<String, Ty>,
    pub constraints: Vec<ConstraintDef>,
    pub served: Vec<String>,
    pub fhir_version: String,
}

#[derive(Deserialize)]
struct Doc {
    #[serde(rename = "fhirVersion")]
    fhir_version: String,
    served: Vec<String>,
    /// serde_json's map keeps the file's order (preserve_order): type ids are stable.
    types: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct RawType {
    kind: String,
    base: Option<String>,
    constraints: Vec<RawConstraint>,
    elements: Vec<RawElement>,
}

/// `[key, severity, human, expression]`.
type RawConstraint = (String, String, String, String);
/// `[name, types, flags, targets, constraints]`.
type RawElement = (String, Vec<String>, String, Vec<String>, Vec<RawConstraint>);

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

impl Model {
    pub(crate) fn load() -> Result<Model, String> {
        let doc: Doc = serde_json::from_str(ELEMENTS_TEXT).map_err(|e| e.to_string())?;
        let mut raw = Vec::new();
        for (name, v) in doc.types {
            let t: RawType = serde_json::from_value(v).map_err(|e| format!("{name}: {e}"))?;
            raw.push((name, t));
        }
        let by_name: HashMap<String, Ty> = raw
            .iter()
            .enumerate()
            .map(|(i, (n, _))| (n.clone(), i as Ty))
            .collect();
        let ty_of = |n: &str| by_name.get(n).copied().ok_or(format!("unknown type {n}"));
        let mut constraints = Vec::new();
        let mut add = |list: Vec<RawConstraint>, context: &str| {
            list.into_iter()
                .map(|(key, severity, human, expression)| {
                    constraints.push(ConstraintDef {
                        key,
                        severity,
                        human,
                        expression,
                        context: context.to_owned(),
                    });
                    constraints.len() - 1
                })
                .collect::<Vec<_>>()
        };
        let mut types = Vec::new();
        for (name, t) in raw {
            let kind = match t.kind.as_str() {
                "resource" => Kind::Resource,
                "complex" => Kind::Complex,
                "primitive" => Kind::Primitive,
                _ => Kind::Backbone,
            };
            let base = t.base.as_deref().map(ty_of).transpose()?;
            let own = add(t.constraints, &name);
            let mut def = TypeDef {
                name: name.clone(),
                kind,
                base,
                constraints: own,
                elements: Vec::new(),
                by_name: HashMap::new(),
                by_json: HashMap::new(),
            };
            for (ename, tys, flags, targets, cons) in t.elements {
                let choice = flags.contains('x');
                let mut etypes = Vec::new();
                for (k, tn) in tys.iter().enumerate() {
                    let json = if choice {
                        // json.html#choice: the type name with its first letter capitalised.
                        let suffix = match tn.as_str() {
                            "SimpleQuantity" => "Quantity",
                            "MoneyQuantity" => "Money",
                            other => other,
                        };
                        format!("{ename}{}", upper_first(suffix))
                    } else {
                        ename.clone()
                    };
                    let i = def.elements.len();
                    def.by_json.insert(json.clone(), (i, k, false));
                    def.by_json.insert(format!("_{json}"), (i, k, true));
                    etypes.push(ElementType {
                        ty: ty_of(tn)?,
                        underscored: format!("_{json}"),
                        json,
                    });
                }
                let any = targets.is_empty() || targets.iter().any(|t| t == "Resource");
                let path = format!("{name}.{ename}");
                let constraints = add(cons, &path);
                def.by_name.insert(ename, def.elements.len());
                def.elements.push(Element {
                    types: etypes,
                    choice,
                    repeats: flags.contains('*'),
                    targets: (!any).then_some(targets),
                    constraints,
                });
            }
            types.push(def);
        }
        Ok(Model {
            types,
            by_name,
            constraints,
            served: doc.served,
            fhir_version: doc.fhir_version,
        })
    }

    pub(crate) fn get(&self, t: Ty) -> Option<&TypeDef> {
        self.types.get(t as usize)
    }

    pub(crate) fn ty(&self, name: &str) -> Ty {
        self.by_name.get(name).copied().unwrap_or(UNKNOWN)
    }

    pub(crate) fn kind(&self, t: Ty) -> Option<Kind> {
        self.get(t).map(|d| d.kind)
    }

    pub(crate) fn name(&self, t: Ty) -> &str {
        self.get(t).map_or("", |d| d.name.as_str())
    }

    /// `t` is `of` or derives from it (fhirpath.html#types: `is` and `as` accept subtypes).
    pub(crate) fn is_a(&self, mut t: Ty, of: Ty) -> bool {
        for _ in 0..16 {
            if t == of {
                return true;
            }
            match self.get(t).and_then(|d| d.base) {
                Some(b) => t = b,
                None => return false,
            }
        }
        false
    }
}
