//! The R4 invariants of the served types that the JSON Schema cannot express
//! (ElementDefinition.constraint, http://hl7.org/fhir/R4/conformance-rules.html#constraints),
//! generated from the R4 StructureDefinitions (`schemas/r4-elements.json`), and the Reference
//! target types of ElementDefinition.type.targetProfile.
//!
//! Every `error` constraint is compiled once, in [`Invariants::load`], and evaluated on each
//! element it applies to, except the few checked natively (ele-1, ext-1: they apply to every
//! element and are cheaper as code) and those in [`EXCLUDED`] with their reason. `warning`
//! constraints (dom-6, ...) are not refused, so not evaluated. A constraint is violated when
//! it evaluates to false; empty (e.g. comparing dates of different precision) is not false.

mod exclusions;
mod lookup;
pub(crate) mod model;
mod refs;
mod walk;

use std::collections::HashMap;

use serde_json::Value;

pub use exclusions::EXCLUDED;
pub use lookup::ElementInfo;
pub use model::ConstraintDef;

use crate::fhirpath::{parse, Expr, Node};
use model::{Kind, Model, Ty, UNKNOWN};

/// One violated invariant: its key (`obs-3`; `fhirgate-ref-1` for a Reference target type),
/// where (a FHIRPath location such as `Observation.referenceRange[0]`) and its human text.
/// Never carries client data.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub key: String,
    pub expression: String,
    pub text: String,
}

/// How a constraint of the generated file is enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enforcement {
    /// Its FHIRPath expression is compiled and evaluated.
    Evaluated,
    /// Checked by code with the same meaning (ele-1, ext-1).
    Native,
    /// Listed in [`EXCLUDED`].
    Excluded,
    /// Severity `warning`: not refused, not evaluated.
    Warning,
}

pub(crate) struct Rule {
    pub constraint: usize,
    pub expr: Expr,
}

/// The compiled invariants. Build once at start-up ([`Invariants::load`]); `Send + Sync`.
pub struct Invariants {
    model: Model,
    by_type: Vec<Vec<Rule>>,
    by_element: HashMap<(Ty, usize), Vec<Rule>>,
    enforcement: Vec<Enforcement>,
    extension: Ty,
    reference: Ty,
}

impl Invariants {
    /// Loads the generated model and compiles every evaluated constraint. Fails when an
    /// `error` constraint neither compiles nor is excluded, so that none is skipped silently.
    pub fn load() -> Result<Self, String> {
        let model = Model::load()?;
        let resolve = |ns: Option<&str>, name: &str| -> Option<Ty> {
            // FHIRPath System types are carried by the FHIR primitives
            // (http://hl7.org/fhir/R4/fhirpath.html#types).
            let name = match (ns, name) {
                (Some("System") | None, "String") => "string",
                (Some("System") | None, "Boolean") => "boolean",
                (Some("System") | None, "Integer") => "integer",
                (Some("System") | None, "Decimal") => "decimal",
                (Some("System") | None, "Date") => "date",
                (Some("System") | None, "DateTime") => "dateTime",
                (Some("System") | None, "Time") => "time",
                (_, other) => other,
            };
            let t = model.ty(name);
            (t != UNKNOWN).then_some(t)
        };
        let mut by_type: Vec<Vec<Rule>> = model.types.iter().map(|_| Vec::new()).collect();
        let mut by_element: HashMap<(Ty, usize), Vec<Rule>> = HashMap::new();
        let mut enforcement = Vec::new();
        let mut errors = Vec::new();
        let mut compile = |i: usize, c: &ConstraintDef| -> Option<Rule> {
            let how = if c.severity != "error" {
                Enforcement::Warning
            } else if exclusions::native(&c.key) {
                Enforcement::Native
            } else if exclusions::excluded(&c.key) {
                Enforcement::Excluded
            } else {
                Enforcement::Evaluated
            };
            enforcement.push(how);
            if how != Enforcement::Evaluated {
                return None;
            }
            match parse(&c.expression, &resolve) {
                Ok(expr) => Some(Rule {
                    constraint: i,
                    expr,
                }),
                Err(e) => {
                    errors.push(format!("{} on {}: {e}", c.key, c.context));
                    None
                }
            }
        };
        for (t, def) in model.types.iter().enumerate() {
            for &i in &def.constraints {
                if let Some(rule) = model.constraints.get(i).and_then(|c| compile(i, c)) {
                    if let Some(list) = by_type.get_mut(t) {
                        list.push(rule);
                    }
                }
            }
            for (e, el) in def.elements.iter().enumerate() {
                for &i in &el.constraints {
                    if let Some(rule) = model.constraints.get(i).and_then(|c| compile(i, c)) {
                        by_element.entry((t as Ty, e)).or_default().push(rule);
                    }
                }
            }
        }
        if !errors.is_empty() {
            return Err(format!(
                "R4 constraints that neither compile nor are excluded: {}",
                errors.join("; ")
            ));
        }
        let extension = model.ty("Extension");
        let reference = model.ty("Reference");
        Ok(Invariants {
            model,
            by_type,
            by_element,
            enforcement,
            extension,
            reference,
        })
    }

    /// The FHIR version of the definitions (`4.0.1`).
    pub fn fhir_version(&self) -> &str {
        &self.model.fhir_version
    }

    /// The resource types the definitions were generated for.
    pub fn served(&self) -> &[String] {
        &self.model.served
    }

    /// Every constraint of the generated file with how it is enforced.
    pub fn constraints(&self) -> impl Iterator<Item = (&ConstraintDef, Enforcement)> {
        self.model
            .constraints
            .iter()
            .zip(self.enforcement.iter().copied())
    }

    /// The invariants `resource` (of `resource_type`, already valid against the schema)
    /// violates; at most [`crate::MAX_ISSUES`] - 1 of them.
    pub fn check(&self, resource_type: &str, resource: &Value) -> Vec<Violation> {
        let (structure, mut rules) = self.check_all(resource_type, resource);
        rules.extend(structure);
        rules
    }

    /// [`Invariants::check`] with the structure errors the JSON Schema cannot express
    /// (two types of one choice element, json.html#choice) apart, first: those make the
    /// resource unreadable as R4 (400), where a failed invariant is a refused rule (422).
    pub fn check_all(
        &self,
        resource_type: &str,
        resource: &Value,
    ) -> (Vec<Violation>, Vec<Violation>) {
        let ty = self.model.ty(resource_type);
        if self.model.kind(ty) != Some(Kind::Resource) {
            return (Vec::new(), Vec::new());
        }
        let node = Node {
            value: Some(resource),
            ext: None,
            ty,
        };
        let mut w = walk::Walk {
            inv: self,
            out: Vec::new(),
            structure: Vec::new(),
            path: resource_type.to_owned(),
            resource: node,
            root: node,
        };
        w.resource(node);
        (w.structure, w.out)
    }
}
