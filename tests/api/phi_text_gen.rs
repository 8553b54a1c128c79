//! The resources `phi_text.rs` sends: for every element of a served type whose
//! R4 type is `string` or `markdown`, found by walking the R4 JSON Schema's
//! definitions (../shared/fhir-r4/fhir.schema.json), a resource holding a
//! marker there, with every object on the way made valid R4 (required
//! elements and the invariants a lone element would break).

use serde_json::{json, Map, Value};

/// How deep the walk goes into complex types (a path through more nested
/// datatypes than this reaches types already reached by a shorter path).
pub(crate) const MAX_DEPTH: usize = 4;
/// The schema pattern of `string` and `markdown` values, as inlined into
/// choice properties (`valueString`, `valueMarkdown`).
pub(crate) const TEXT_PATTERN: &str = "^[ \\r\\n\\t\\S]+$";

pub(crate) fn schema() -> Value {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fhir-r4/fhir.schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// One step of a path: a property, whether it is an array, and the schema
/// definition of its value when complex.
#[derive(Clone, Debug)]
pub(crate) struct Step {
    pub(crate) prop: String,
    pub(crate) array: bool,
    pub(crate) def: Option<String>,
}

pub(crate) fn ref_name(v: &Value) -> Option<String> {
    v.get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/definitions/"))
        .map(str::to_owned)
}

/// (is array, referenced definition, is free text) of a property's schema.
pub(crate) fn kind(prop: &Value) -> (bool, Option<String>, bool) {
    let (array, inner) = match prop.get("items") {
        Some(items) => (true, items),
        None => (false, prop),
    };
    let def = ref_name(inner);
    let text = match def.as_deref() {
        Some("string" | "markdown") => true,
        Some(_) => false,
        None => inner.get("pattern").and_then(Value::as_str) == Some(TEXT_PATTERN),
    };
    (array, def, text)
}

/// Every path from `def` to a `string`/`markdown` element.
pub(crate) fn text_paths(
    defs: &Value,
    def: &str,
    prefix: &mut Vec<Step>,
    out: &mut Vec<Vec<Step>>,
) {
    let Some(props) = defs[def]["properties"].as_object() else {
        return;
    };
    for (name, prop) in props {
        // Element ids, extensions (below, on their own), contained resources
        // (below) and the `_x` primitive siblings are not data elements here.
        if name.starts_with('_')
            || matches!(
                name.as_str(),
                "id" | "extension" | "modifierExtension" | "contained" | "resourceType"
            )
            || !fhirgate_validate::is_r4_element(def, name)
        {
            continue;
        }
        let (array, inner, text) = kind(prop);
        if text {
            let mut p = prefix.clone();
            p.push(Step {
                prop: name.clone(),
                array,
                def: None,
            });
            out.push(p);
            continue;
        }
        let Some(inner) = inner else { continue };
        let complex = defs[&inner].get("properties").is_some();
        let visited = prefix
            .iter()
            .any(|s| s.def.as_deref() == Some(inner.as_str()));
        if !complex || visited || prefix.len() >= MAX_DEPTH || inner == "ResourceList" {
            continue;
        }
        prefix.push(Step {
            prop: name.clone(),
            array,
            def: Some(inner.clone()),
        });
        text_paths(defs, &inner, prefix, out);
        prefix.pop();
    }
}

/// A value for a required element that carries no marker.
pub(crate) fn filler(defs: &Value, prop: &Value) -> Value {
    let (array, def, text) = kind(prop);
    let inner = prop.get("items").unwrap_or(prop);
    let one = if let Some(e) = inner.get("enum").and_then(Value::as_array) {
        e[0].clone()
    } else if text {
        json!("filler")
    } else {
        match def.as_deref() {
            Some("code" | "id") => json!("filler"),
            Some("uri" | "url" | "canonical") => json!("http://example.org/filler"),
            Some("date" | "dateTime") => json!("2020-01-01"),
            Some("instant") => json!("2020-01-01T00:00:00Z"),
            Some("boolean") => json!(true),
            Some("decimal" | "integer" | "positiveInt" | "unsignedInt") => json!(1),
            Some("xhtml") => json!("<div xmlns=\"http://www.w3.org/1999/xhtml\">filler</div>"),
            Some(d) => complex_filler(defs, d),
            None => match inner.get("type").and_then(Value::as_str) {
                Some("boolean") => json!(true),
                Some("number") => json!(1),
                _ => json!("filler"),
            },
        }
    };
    if array {
        json!([one])
    } else {
        one
    }
}

/// A minimal valid value of a complex type: its required elements filled, or
/// one harmless element when it requires none (an empty object is not valid R4).
pub(crate) fn complex_filler(defs: &Value, def: &str) -> Value {
    match def {
        "CodeableConcept" => {
            return json!({"coding": [{"system": "http://example.org/filler", "code": "filler"}]})
        }
        "Coding" => return json!({"system": "http://example.org/filler", "code": "filler"}),
        "Reference" => return json!({"display": "filler"}),
        "Period" => return json!({"start": "2020-01-01"}),
        "Quantity" | "Duration" | "Age" | "Count" | "Distance" | "SimpleQuantity" | "Money" => {
            return json!({"value": 1})
        }
        _ => {}
    }
    let mut obj = Map::new();
    fill_required(defs, def, &mut obj, None);
    if obj.is_empty() {
        obj.insert(
            "extension".into(),
            json!([{"url": "http://example.org/filler", "valueBoolean": true}]),
        );
    }
    Value::Object(obj)
}

/// Adds every element `def` requires that `obj` lacks.
/// `coming` is the element the caller is about to add (it counts as present).
pub(crate) fn fill_required(
    defs: &Value,
    def: &str,
    obj: &mut Map<String, Value>,
    coming: Option<&str>,
) {
    let props = &defs[def]["properties"];
    let mut names: Vec<String> = defs[def]["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|n| *n != "resourceType")
        .map(str::to_owned)
        .collect();
    let (primitives, choices) = fhirgate_validate::required_elements(def);
    names.extend(primitives.iter().map(|s| s.to_string()));
    for (_, alternatives) in choices {
        if !alternatives
            .iter()
            .any(|a| obj.contains_key(*a) || coming == Some(*a))
        {
            names.push(alternatives[0].to_string());
        }
    }
    for n in names {
        if !obj.contains_key(&n) && coming != Some(n.as_str()) {
            obj.insert(n.clone(), filler(defs, &props[&n]));
        }
    }
    // Invariants a lone element would break (patient.html pat-1: a contact has
    // details or an organization).
    if def == "Patient_Contact" {
        obj.insert("organization".into(), json!({"display": "filler"}));
    }
    // datatypes.html cpt-2: a ContactPoint with a value has a system.
    if def == "ContactPoint" {
        obj.insert("system".into(), json!("other"));
    }
    // datatypes.html rat-1: a Ratio has both numerator and denominator.
    if def == "Ratio" {
        for part in ["numerator", "denominator"] {
            if coming != Some(part) {
                obj.insert(part.into(), json!({"value": 1}));
            }
        }
    }
    // observation.html obs-3: a reference range has a low, a high or a text.
    if def == "Observation_ReferenceRange" && coming != Some("low") {
        obj.insert("low".into(), json!({"value": 1}));
    }
}

/// `base` with `marker` at the end of `path`, every object on the way made
/// valid (required elements filled).
pub(crate) fn with_text(defs: &Value, base: &Value, path: &[Step], marker: &str) -> Value {
    let mut out = base.clone();
    // json.html#choice: one type per choice element; the base MedicationRequest
    // names its medication by a CodeableConcept.
    if path
        .first()
        .is_some_and(|s| s.prop == "medicationReference")
    {
        if let Some(o) = out.as_object_mut() {
            o.remove("medicationCodeableConcept");
        }
    }
    let mut node = &mut out;
    for (i, step) in path.iter().enumerate() {
        let last = i + 1 == path.len();
        let obj = node.as_object_mut().unwrap();
        let value = if last {
            json!(marker)
        } else {
            Value::Object(Map::new())
        };
        let slot = if step.array {
            let arr = obj.entry(step.prop.clone()).or_insert_with(|| json!([]));
            let arr = arr.as_array_mut().unwrap();
            if arr.is_empty() || last {
                arr.insert(0, value);
            }
            &mut arr[0]
        } else {
            obj.insert(step.prop.clone(), value);
            obj.get_mut(&step.prop).unwrap()
        };
        if let (false, Some(d)) = (last, &step.def) {
            let coming = path.get(i + 1).map(|s| s.prop.as_str());
            fill_required(defs, d, slot.as_object_mut().unwrap(), coming);
        }
        node = slot;
    }
    // appointment.html app-4: a cancelation reason only on a cancelled (or
    // no-show) appointment.
    if out.get("cancelationReason").is_some() {
        out["status"] = json!("cancelled");
    }
    out
}
