//! The element model behind the invariants, for callers that address elements by their
//! FHIRPath names while the JSON names a choice element by its type
//! (http://hl7.org/fhir/R4/json.html#choice): FHIRPath Patch
//! (http://hl7.org/fhir/R4/fhirpatch.html) adds `deceased` with a `valueBoolean` as
//! `deceasedBoolean`.

use super::Invariants;

/// One element of a type of the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementInfo<'m> {
    /// A choice element (`deceased[x]`): one JSON name per allowed type.
    pub choice: bool,
    /// Max cardinality above 1: the JSON value is an array.
    pub repeats: bool,
    /// Each allowed type with the JSON name the element has when it is of that type:
    /// `("boolean", "deceasedBoolean")`; a non-choice element has one, named as the element.
    pub types: Vec<(&'m str, &'m str)>,
}

impl Invariants {
    /// `name` as the model spells it when the model describes the type `name` (a served
    /// resource, a data type, or a backbone element by its path: `Patient.contact`).
    pub fn known_type(&self, name: &str) -> Option<&str> {
        let t = self.model.ty(name);
        self.model.get(t).map(|d| d.name.as_str())
    }

    /// The element `name` of the type `type_name` (see [`Invariants::known_type`]), by its
    /// FHIRPath name: a choice by its name without the type (`deceased`, never
    /// `deceasedBoolean`: "choice elements are labeled according to the name without the
    /// '[x]' suffix", http://hl7.org/fhir/R4/fhirpath.html 2.9.1.1 Polymorphism in FHIR).
    pub fn element(&self, type_name: &str, name: &str) -> Option<ElementInfo<'_>> {
        let def = self.model.get(self.model.ty(type_name))?;
        let el = def.by_name.get(name).and_then(|&i| def.elements.get(i))?;
        Some(ElementInfo {
            choice: el.choice,
            repeats: el.repeats,
            types: el
                .types
                .iter()
                .map(|t| (self.model.name(t.ty), t.json.as_str()))
                .collect(),
        })
    }
}
