//! FHIRPath Patch (http://hl7.org/fhir/R4/fhirpatch.html): a Parameters resource of `add`,
//! `insert`, `delete`, `replace` and `move` operations on elements named by FHIRPath. The
//! paths supported are element names with optional `[n]` indexes, the first step naming the
//! resource type.
//!
//! FHIRPath names elements as the R4 model does, not as the JSON does, so each step is typed
//! with the model (`Invariants::element`): a choice element is named without its type
//! (fhirpath.html 2.9.1.1), so `Patient.deceased` is whichever of `deceasedBoolean` and
//! `deceasedDateTime` is present, and the type of the value given to `add` or `replace`
//! picks the JSON name (json.html#choice: `valueBoolean` makes `deceasedBoolean`; a type the
//! element does not allow is an error, fhirpatch.html: "Servers SHALL return an error if the
//! type is wrong"). `add` sets an element only when it is absent ("Add can used for
//! non-repeating elements as long as they do not already exist"), so adding `deceased` next
//! to a `deceasedDateTime` is refused (a `replace` changes it). An element is its JSON
//! property with the `_name` sibling that holds its id and extensions (json.html#primitive):
//! `replace` and `delete` take both, and `_name` arrays stay aligned with their values.
//! Inside a contained resource of a type the model does not describe, names are JSON names.

use fhirgate_validate::{ElementInfo, Invariants, IssueCode};
use serde_json::{Map, Value};

use super::params::{part_text, steps, typed_value, Step};
use super::unprocessable;
use crate::fhir::error::FhirError;
use crate::model::ResourceType;

/// The element `name` of a value of model type `ty`; `None` where the model does not
/// describe the type (JSON names are used there).
fn info<'m>(
    inv: &'m Invariants,
    ty: Option<&str>,
    name: &str,
) -> Result<Option<ElementInfo<'m>>, FhirError> {
    let Some(t) = ty else { return Ok(None) };
    match inv.element(t, name) {
        Some(i) => Ok(Some(i)),
        None => Err(unprocessable(format!(
            "{t} has no element {name:?} (a choice element is named without its type, e.g. deceased)"
        ))),
    }
}

/// The JSON name element `name` has in `obj` when present (its value, or only its `_`
/// sibling), with its type: for a choice, whichever of its types is there.
fn present<'m>(
    obj: &Map<String, Value>,
    name: &str,
    info: Option<&ElementInfo<'m>>,
) -> Option<(String, Option<&'m str>)> {
    let has = |k: &str| obj.contains_key(k) || obj.contains_key(&format!("_{k}"));
    match info {
        Some(i) => i
            .types
            .iter()
            .find(|(_, json)| has(json))
            .map(|&(t, json)| (json.to_owned(), Some(t))),
        None => has(name).then(|| (name.to_owned(), None)),
    }
}

/// The model type of `v` reached as `declared`: an inline resource has its own.
fn refine<'m>(inv: &'m Invariants, declared: Option<&'m str>, v: &Value) -> Option<&'m str> {
    match v.get("resourceType").and_then(Value::as_str) {
        Some(rt) if declared.is_none_or(|d| d == "Resource") => inv.known_type(rt),
        _ => declared,
    }
}

fn absent(name: &str) -> FhirError {
    unprocessable(format!("the path names no element ({name} is absent)"))
}

fn not_object(name: &str) -> FhirError {
    unprocessable(format!("{name} is not an element with children"))
}

/// The value `steps` name in `root` (of type `rtype`), with its model type.
fn locate<'a, 'm>(
    inv: &'m Invariants,
    root: &'a mut Value,
    rtype: ResourceType,
    steps: &[Step],
) -> Result<(&'a mut Value, Option<&'m str>), FhirError> {
    let mut ty = inv.known_type(rtype.as_str());
    let mut cur = root;
    for s in steps {
        let el = info(inv, ty, &s.name)?;
        let obj = cur.as_object_mut().ok_or_else(|| not_object(&s.name))?;
        let (json, t) = present(obj, &s.name, el.as_ref()).ok_or_else(|| absent(&s.name))?;
        let next = obj.get_mut(&json).ok_or_else(|| absent(&s.name))?;
        cur = match s.index {
            Some(i) => next
                .get_mut(i)
                .ok_or_else(|| unprocessable(format!("{}[{i}] does not exist", s.name)))?,
            None => next,
        };
        ty = refine(inv, t, cur);
    }
    Ok((cur, ty))
}

/// The JSON name a value of JSON type `suffix` (`Boolean`) gives the choice element `name`.
fn choice_json<'m>(el: &ElementInfo<'m>, name: &str, suffix: &str) -> Result<&'m str, FhirError> {
    let want = format!("{name}{suffix}");
    el.types
        .iter()
        .map(|&(_, json)| json)
        .find(|json| *json == want)
        .ok_or_else(|| {
            let allowed: Vec<&str> = el.types.iter().map(|&(t, _)| t).collect();
            unprocessable(format!(
                "{name}[x] does not allow a value{suffix}; its types are {}",
                allowed.join(", ")
            ))
        })
}

/// Removes `_json[i]` (or sets it to null when `keep_slot`), dropping the array when
/// nothing is left in it (json.html#primitive: the two arrays stay aligned).
fn clear_ext_at(obj: &mut Map<String, Value>, json: &str, i: usize, keep_slot: bool) {
    let key = format!("_{json}");
    if let Some(Value::Array(ext)) = obj.get_mut(&key) {
        if i < ext.len() {
            if keep_slot {
                if let Some(slot) = ext.get_mut(i) {
                    *slot = Value::Null;
                }
            } else {
                ext.remove(i);
            }
        }
        if ext.iter().all(Value::is_null) {
            obj.remove(&key);
        }
    }
}

/// Splits off the last step: the element operated on, in the object the rest names.
fn split(mut steps: Vec<Step>, what: &str) -> Result<(Vec<Step>, Step), FhirError> {
    let last = steps
        .pop()
        .ok_or_else(|| unprocessable(format!("cannot {what} the resource itself")))?;
    Ok((steps, last))
}

fn replace(
    inv: &Invariants,
    doc: &mut Value,
    rtype: ResourceType,
    st: Vec<Step>,
    op: &Value,
) -> Result<(), FhirError> {
    let (suffix, value) =
        typed_value(op, "value").ok_or_else(|| unprocessable("replace needs a value"))?;
    let (parent, last) = split(st, "replace")?;
    let (target, ty) = locate(inv, doc, rtype, &parent)?;
    let el = info(inv, ty, &last.name)?;
    let obj = target
        .as_object_mut()
        .ok_or_else(|| not_object(&last.name))?;
    let (json, _) = present(obj, &last.name, el.as_ref()).ok_or_else(|| absent(&last.name))?;
    match last.index {
        Some(i) => {
            let slot = obj
                .get_mut(&json)
                .and_then(|a| a.get_mut(i))
                .ok_or_else(|| unprocessable(format!("{}[{i}] does not exist", last.name)))?;
            *slot = value.clone();
            clear_ext_at(obj, &json, i, true);
        }
        None => {
            let new_json = match &el {
                Some(e) if e.choice => choice_json(e, &last.name, suffix)?.to_owned(),
                _ => json.clone(),
            };
            obj.remove(&json);
            obj.remove(&format!("_{json}"));
            obj.insert(new_json, value.clone());
        }
    }
    Ok(())
}

fn delete(
    inv: &Invariants,
    doc: &mut Value,
    rtype: ResourceType,
    st: Vec<Step>,
) -> Result<(), FhirError> {
    let (parent, last) = split(st, "delete")?;
    let (target, ty) = locate(inv, doc, rtype, &parent)?;
    let el = info(inv, ty, &last.name)?;
    let obj = target
        .as_object_mut()
        .ok_or_else(|| not_object(&last.name))?;
    // fhirpatch.html: "Path of the element to delete (if found)".
    let Some((json, _)) = present(obj, &last.name, el.as_ref()) else {
        return Ok(());
    };
    match last.index {
        Some(i) => {
            let emptied = match obj.get_mut(&json) {
                Some(Value::Array(a)) if i < a.len() => {
                    a.remove(i);
                    a.is_empty()
                }
                _ => return Ok(()),
            };
            clear_ext_at(obj, &json, i, false);
            if emptied {
                obj.remove(&json);
                obj.remove(&format!("_{json}"));
            }
        }
        None => {
            obj.remove(&json);
            obj.remove(&format!("_{json}"));
        }
    }
    Ok(())
}

fn add(
    inv: &Invariants,
    doc: &mut Value,
    rtype: ResourceType,
    st: &[Step],
    op: &Value,
) -> Result<(), FhirError> {
    let name = part_text(op, "name").ok_or_else(|| unprocessable("add needs a name"))?;
    let (suffix, value) =
        typed_value(op, "value").ok_or_else(|| unprocessable("add needs a value"))?;
    let (target, ty) = locate(inv, doc, rtype, st)?;
    let el = info(inv, ty, &name)?;
    let obj = target
        .as_object_mut()
        .ok_or_else(|| unprocessable("add: the path does not name an element with children"))?;
    let exists = present(obj, &name, el.as_ref()).is_some();
    let taken = || unprocessable(format!("add: {name} already has a value; use replace"));
    match &el {
        Some(e) if e.choice => {
            if exists {
                return Err(taken());
            }
            obj.insert(choice_json(e, &name, suffix)?.to_owned(), value.clone());
        }
        Some(e) if e.repeats => {
            // A list of primitives with extensions keeps its `_name` array aligned.
            let before = match obj.get_mut(&format!("_{name}")) {
                Some(Value::Array(ext)) => {
                    ext.push(Value::Null);
                    ext.len() - 1
                }
                _ => 0,
            };
            match obj.get_mut(&name) {
                Some(Value::Array(a)) => a.push(value.clone()),
                _ => {
                    let mut a = vec![Value::Null; before];
                    a.push(value.clone());
                    obj.insert(name, Value::Array(a));
                }
            }
        }
        _ => match obj.get_mut(&name) {
            // Untyped content: a list grows, as in the typed case.
            Some(Value::Array(a)) if el.is_none() => a.push(value.clone()),
            Some(_) => return Err(taken()),
            None if exists => return Err(taken()),
            None => {
                obj.insert(name, value.clone());
            }
        },
    }
    Ok(())
}

/// `insert` and `move` in the list the path names, and in its `_name` array if it has one.
fn insert_or_move(
    inv: &Invariants,
    doc: &mut Value,
    rtype: ResourceType,
    st: Vec<Step>,
    op: &Value,
    kind: &str,
) -> Result<(), FhirError> {
    let not_list = || unprocessable(format!("{kind}: the path does not name a list"));
    let (parent, last) = split(st, kind)?;
    if last.index.is_some() {
        return Err(not_list());
    }
    let (target, ty) = locate(inv, doc, rtype, &parent)?;
    let el = info(inv, ty, &last.name)?;
    let obj = target
        .as_object_mut()
        .ok_or_else(|| not_object(&last.name))?;
    let (json, _) = present(obj, &last.name, el.as_ref()).ok_or_else(|| absent(&last.name))?;
    let len = match obj.get(&json) {
        Some(Value::Array(a)) => a.len(),
        _ => return Err(not_list()),
    };
    let index = |n: &str| part_text(op, n).and_then(|t| t.parse::<usize>().ok());
    let ext_key = format!("_{json}");
    if kind == "insert" {
        let (_, v) =
            typed_value(op, "value").ok_or_else(|| unprocessable("insert needs a value"))?;
        let i = index("index")
            .filter(|i| *i <= len)
            .ok_or_else(|| unprocessable("insert: bad index"))?;
        if let Some(Value::Array(a)) = obj.get_mut(&json) {
            a.insert(i, v.clone());
        }
        if let Some(Value::Array(ext)) = obj.get_mut(&ext_key) {
            if i <= ext.len() {
                ext.insert(i, Value::Null);
            }
        }
    } else {
        let (s, d) = (index("source"), index("destination"));
        let (Some(s), Some(d)) = (s.filter(|s| *s < len), d.filter(|d| *d < len)) else {
            return Err(unprocessable("move: bad source or destination"));
        };
        for key in [json.as_str(), ext_key.as_str()] {
            if let Some(Value::Array(a)) = obj.get_mut(key) {
                if s < a.len() && d < a.len() {
                    let item = a.remove(s);
                    a.insert(d, item);
                }
            }
        }
    }
    Ok(())
}

/// Applies a FHIRPath Patch Parameters resource to `doc`, a resource of `rtype`.
pub(super) fn apply(
    doc: &mut Value,
    params: &Value,
    rtype: ResourceType,
    inv: &Invariants,
) -> Result<(), FhirError> {
    let ops = params
        .get("parameter")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            FhirError::invalid(
                IssueCode::Invalid,
                None,
                "a FHIRPath Patch is a Parameters resource with parameters",
            )
        })?;
    for op in ops {
        let kind =
            part_text(op, "type").ok_or_else(|| unprocessable("an operation has no type"))?;
        let path =
            part_text(op, "path").ok_or_else(|| unprocessable("an operation has no path"))?;
        let st = steps(&path, rtype)?;
        match kind.as_str() {
            "replace" => replace(inv, doc, rtype, st, op)?,
            "delete" => delete(inv, doc, rtype, st)?,
            "add" => add(inv, doc, rtype, &st, op)?,
            "insert" | "move" => insert_or_move(inv, doc, rtype, st, op, &kind)?,
            other => {
                return Err(unprocessable(format!(
                    "FHIRPath Patch operation {other:?} is not supported"
                )))
            }
        }
    }
    Ok(())
}
