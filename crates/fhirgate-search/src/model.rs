//! A minimal FHIR R4 type model built from the JSON Schema `definitions`.
//!
//! FHIRPath navigation must know each node's FHIR type: JSON shape alone
//! cannot tell a `ContactPoint` from an `Identifier` (both have `system` and
//! `value`), and choice elements (`value[x]`) are typed only by the suffix of
//! the JSON property name (<http://hl7.org/fhir/R4/json.html#choice>).
use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Deserialize;

/// One element of a type: its FHIR type name and cardinality.
#[derive(Debug, Clone)]
pub(crate) struct PropDef {
    pub ty: String,
    #[allow(dead_code)] // kept for completeness; navigation tolerates both shapes
    pub array: bool,
}

#[derive(Debug, Default)]
pub(crate) struct TypeDef {
    pub props: HashMap<String, PropDef>,
    /// Choice element base name (`value`) -> `(json property, type)` pairs.
    pub choices: HashMap<String, Vec<(String, String)>>,
}

#[derive(Debug, Default)]
pub(crate) struct TypeModel {
    types: HashMap<String, TypeDef>,
    /// Every complex type name, known before any type is built.
    complex: HashSet<String>,
    primitives: HashSet<String>,
    resources: HashSet<String>,
}

#[derive(Deserialize)]
struct Schema {
    definitions: BTreeMap<String, SchemaDef>,
}

#[derive(Deserialize)]
struct SchemaDef {
    properties: Option<BTreeMap<String, SchemaProp>>,
    #[serde(rename = "oneOf")]
    one_of: Option<Vec<SchemaRef>>,
}

#[derive(Deserialize)]
struct SchemaRef {
    #[serde(rename = "$ref")]
    reference: Option<String>,
}

#[derive(Deserialize)]
struct SchemaProp {
    #[serde(rename = "$ref")]
    reference: Option<String>,
    items: Option<Box<SchemaProp>>,
    #[serde(rename = "enum")]
    enumeration: Option<serde::de::IgnoredAny>,
    #[serde(rename = "const")]
    constant: Option<serde::de::IgnoredAny>,
    pattern: Option<serde::de::IgnoredAny>,
    description: Option<String>,
}

/// `(json property, suffix type, description)` of a possible choice member.
type ChoiceCandidate<'s> = (&'s str, String, Option<&'s str>);

/// What the schema says a property is, before choice detection.
enum Declared {
    Type(String, bool),
    /// Inline `pattern`/`type` (only used for primitive choice members such
    /// as `Extension.valueBoolean`): the type comes from the name suffix.
    Inline,
    Skip,
}

fn ref_name(r: &str) -> &str {
    r.rsplit('/').next().unwrap_or(r)
}

fn declared(p: &SchemaProp) -> Declared {
    if p.constant.is_some() {
        return Declared::Skip; // `resourceType`
    }
    if let Some(r) = &p.reference {
        return Declared::Type(ref_name(r).to_string(), false);
    }
    if p.enumeration.is_some() {
        // Required-binding codes are inlined as `enum`; their type is `code`.
        return Declared::Type("code".to_string(), false);
    }
    if let Some(items) = &p.items {
        return match declared(items) {
            Declared::Type(t, _) => Declared::Type(t, true),
            other => other,
        };
    }
    if p.pattern.is_some() {
        return Declared::Inline;
    }
    Declared::Skip
}

impl TypeModel {
    pub(crate) fn from_schema_json(text: &str) -> Result<Self, String> {
        let schema: Schema =
            serde_json::from_str(text).map_err(|e| format!("fhir.schema.json: {e}"))?;
        let mut model = TypeModel::default();
        for (name, def) in &schema.definitions {
            if name == "ResourceList" {
                for r in def.one_of.iter().flatten() {
                    if let Some(reference) = &r.reference {
                        model.resources.insert(ref_name(reference).to_string());
                    }
                }
            } else if def.properties.is_none() {
                model.primitives.insert(name.clone());
            } else {
                model.complex.insert(name.clone());
            }
        }
        for (name, def) in &schema.definitions {
            if let Some(props) = &def.properties {
                let td = model.build_type(props);
                model.types.insert(name.clone(), td);
            }
        }
        if model.resources.is_empty() || model.types.is_empty() {
            return Err("fhir.schema.json: no definitions".to_string());
        }
        Ok(model)
    }

    /// Maps a choice-name suffix (`DateTime`, `Quantity`) to a type name.
    fn suffix_type(&self, suffix: &str) -> Option<String> {
        if self.complex.contains(suffix) || self.primitives.contains(suffix) {
            return Some(suffix.to_string());
        }
        let mut chars = suffix.chars();
        let first = chars.next()?;
        let lowered: String = first.to_lowercase().chain(chars).collect();
        self.primitives.contains(&lowered).then_some(lowered)
    }

    fn build_type(&self, props: &BTreeMap<String, SchemaProp>) -> TypeDef {
        let mut td = TypeDef::default();
        // Candidate choice groups: base -> [(json name, type, description)].
        let mut groups: BTreeMap<&str, Vec<ChoiceCandidate<'_>>> = BTreeMap::new();
        for (pname, p) in props {
            if pname.starts_with('_') {
                continue; // primitive extensions (json.html#primitive)
            }
            let decl = declared(p);
            if let Declared::Type(ty, array) = &decl {
                td.props.insert(
                    pname.clone(),
                    PropDef {
                        ty: ty.clone(),
                        array: *array,
                    },
                );
            }
            for (i, c) in pname.char_indices().skip(1) {
                if !c.is_ascii_uppercase() {
                    continue;
                }
                let (base, suffix) = pname.split_at(i);
                let Some(st) = self.suffix_type(suffix) else {
                    continue;
                };
                let ok = match &decl {
                    Declared::Type(t, false) => *t == st,
                    Declared::Inline => true,
                    _ => false,
                };
                if ok {
                    let desc = p.description.as_deref();
                    groups.entry(base).or_default().push((pname, st, desc));
                }
            }
        }
        // A genuine `x[x]` group has no `x` property of its own, at least two
        // members, and (being one element) one shared description; this keeps
        // e.g. `instantiatesCanonical`/`instantiatesUri` from merging.
        for (base, members) in groups {
            let first_desc = members.first().and_then(|m| m.2);
            if td.props.contains_key(base)
                || members.len() < 2
                || members.iter().any(|m| m.2 != first_desc)
            {
                continue;
            }
            let list = members
                .into_iter()
                .map(|(n, t, _)| (n.to_string(), t))
                .collect::<Vec<_>>();
            for (n, t) in &list {
                td.props.entry(n.clone()).or_insert(PropDef {
                    ty: t.clone(),
                    array: false,
                });
            }
            td.choices.insert(base.to_string(), list);
        }
        td
    }

    pub(crate) fn get(&self, ty: &str) -> Option<&TypeDef> {
        self.types.get(ty)
    }

    pub(crate) fn is_resource(&self, ty: &str) -> bool {
        self.resources.contains(ty)
    }

    pub(crate) fn is_primitive(&self, ty: &str) -> bool {
        self.primitives.contains(ty)
    }

    /// The interned (model-owned) spelling of a resource type name.
    pub(crate) fn resource_name(&self, ty: &str) -> Option<&str> {
        self.resources.get(ty).map(String::as_str)
    }

    /// The base type in the R4 type hierarchy, where FHIRPath `is`/`ofType`
    /// must see through specialisation (datatypes.html, resource.html).
    pub(crate) fn parent<'s>(&self, ty: &'s str) -> Option<&'s str> {
        Some(match ty {
            "Age" | "Count" | "Distance" | "Duration" | "MoneyQuantity" | "SimpleQuantity" => {
                "Quantity"
            }
            "code" | "id" | "markdown" => "string",
            "url" | "canonical" | "oid" | "uuid" => "uri",
            "positiveInt" | "unsignedInt" => "integer",
            "DomainResource" => "Resource",
            "Bundle" | "Binary" | "Parameters" => "Resource",
            t if self.is_resource(t) => "DomainResource",
            _ => return None,
        })
    }

    /// `ty` is `sup` or one of its specialisations.
    pub(crate) fn is_a(&self, ty: &str, sup: &str) -> bool {
        let mut cur = ty;
        for _ in 0..8 {
            if cur == sup {
                return true;
            }
            match self.parent(cur) {
                Some(p) => cur = p,
                None => return false,
            }
        }
        false
    }
}
