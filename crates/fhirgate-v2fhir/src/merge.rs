//! How a message's resource is combined with the stored resource it updates.
//!
//! A conditional update replaces what is stored (http.html#cond-update), which
//! is right where the message is the source of truth for the resource, except
//! for what no message carries. The mapping marks those entries
//! ([`crate::EntryInfo::merge`]); the gateway reads the stored resource in the
//! writing transaction, under its row lock, and writes [`merge`]'s result.

use serde_json::{Map, Value};

/// How an entry's resource and the stored one are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merge {
    /// The message's resource replaces the stored one, except `Patient.link`:
    /// links are made by merges (A40), no PID carries them, and a later A08 of
    /// the survivor must not forget whom it replaced (patient.html#links).
    KeepLinks,
    /// A40's retired patient (MRG): "the other is linked", not rewritten. The
    /// stored record keeps its content and becomes inactive, gains the MRG-1
    /// identifiers it lacks, a name (MRG-7) only when it has none, and the
    /// message's link to the survivor. With nothing stored, the message's
    /// resource is written as it is.
    Retired,
}

/// The resource to write for an entry marked `kind`, given the stored one.
pub fn merge(
    kind: Merge,
    stored: &Map<String, Value>,
    incoming: Map<String, Value>,
) -> Map<String, Value> {
    match kind {
        Merge::KeepLinks => {
            let links = union_links(stored.get("link"), incoming.get("link"));
            let mut out = incoming;
            set_or_remove(&mut out, "link", links);
            out
        }
        Merge::Retired => {
            let mut out = stored.clone();
            if let Some(active) = incoming.get("active") {
                out.insert("active".into(), active.clone());
            }
            let ids = union_identifiers(stored.get("identifier"), incoming.get("identifier"));
            set_or_remove(&mut out, "identifier", ids);
            if !out.contains_key("name") {
                if let Some(name) = incoming.get("name") {
                    out.insert("name".into(), name.clone());
                }
            }
            let links = union_links(stored.get("link"), incoming.get("link"));
            set_or_remove(&mut out, "link", links);
            out
        }
    }
}

fn items(v: Option<&Value>) -> &[Value] {
    v.and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn set_or_remove(out: &mut Map<String, Value>, key: &str, values: Vec<Value>) {
    if values.is_empty() {
        out.shift_remove(key);
    } else {
        out.insert(key.into(), Value::Array(values));
    }
}

/// The stored links to patients the message does not link, then the message's
/// links: one link per other patient, the message's type winning.
fn union_links(stored: Option<&Value>, incoming: Option<&Value>) -> Vec<Value> {
    let other = |l: &Value| {
        l.pointer("/other/reference")
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let named: Vec<Option<String>> = items(incoming).iter().map(other).collect();
    items(stored)
        .iter()
        .filter(|l| {
            let o = other(l);
            o.is_none() || !named.contains(&o)
        })
        .chain(items(incoming))
        .cloned()
        .collect()
}

/// The stored identifiers, then the message's that none of them equals in
/// system and value.
fn union_identifiers(stored: Option<&Value>, incoming: Option<&Value>) -> Vec<Value> {
    let key = |i: &Value| (i.get("system").cloned(), i.get("value").cloned());
    let mut out: Vec<Value> = items(stored).to_vec();
    for i in items(incoming) {
        if !out.iter().any(|s| key(s) == key(i)) {
            out.push(i.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn a_retired_patient_keeps_its_content() {
        let stored = obj(json!({
            "resourceType": "Patient", "id": "old",
            "identifier": [{"system": "urn:mrn", "value": "56789"}],
            "active": true,
            "name": [{"family": "Stored", "given": ["Kept"]}],
            "birthDate": "1950-01-02",
            "link": [{"other": {"reference": "Patient/x"}, "type": "seealso"}]
        }));
        let incoming = obj(json!({
            "resourceType": "Patient",
            "identifier": [{"system": "urn:mrn", "value": "56789"}, {"system": "urn:other", "value": "7"}],
            "active": false,
            "name": [{"family": "FromMrg"}],
            "link": [{"other": {"reference": "Patient/survivor"}, "type": "replaced-by"}]
        }));
        assert_eq!(
            Value::Object(merge(Merge::Retired, &stored, incoming)),
            json!({
                "resourceType": "Patient", "id": "old",
                "identifier": [{"system": "urn:mrn", "value": "56789"}, {"system": "urn:other", "value": "7"}],
                "active": false,
                "name": [{"family": "Stored", "given": ["Kept"]}],
                "birthDate": "1950-01-02",
                "link": [
                    {"other": {"reference": "Patient/x"}, "type": "seealso"},
                    {"other": {"reference": "Patient/survivor"}, "type": "replaced-by"}
                ]
            })
        );
    }

    #[test]
    fn a_retired_patient_without_a_name_takes_mrg_7() {
        let stored = obj(json!({"resourceType": "Patient", "id": "old"}));
        let incoming = obj(
            json!({"resourceType": "Patient", "name": [{"family": "FromMrg"}], "active": false}),
        );
        assert_eq!(
            Value::Object(merge(Merge::Retired, &stored, incoming)),
            json!({"resourceType": "Patient", "id": "old", "active": false, "name": [{"family": "FromMrg"}]})
        );
    }

    #[test]
    fn an_update_keeps_the_links_of_earlier_merges() {
        let stored = obj(json!({
            "resourceType": "Patient", "name": [{"family": "Old"}],
            "link": [{"other": {"reference": "Patient/b"}, "type": "replaces"},
                     {"other": {"reference": "Patient/c"}, "type": "seealso"}]
        }));
        let incoming = obj(json!({
            "resourceType": "Patient", "name": [{"family": "New"}],
            "link": [{"other": {"reference": "Patient/c"}, "type": "replaces"}]
        }));
        assert_eq!(
            Value::Object(merge(Merge::KeepLinks, &stored, incoming)),
            json!({
                "resourceType": "Patient", "name": [{"family": "New"}],
                "link": [{"other": {"reference": "Patient/b"}, "type": "replaces"},
                         {"other": {"reference": "Patient/c"}, "type": "replaces"}]
            })
        );
        let bare = obj(json!({"resourceType": "Patient", "gender": "male"}));
        let nothing = obj(json!({"resourceType": "Patient"}));
        assert_eq!(
            Value::Object(merge(Merge::KeepLinks, &nothing, bare)),
            json!({"resourceType": "Patient", "gender": "male"})
        );
    }
}
