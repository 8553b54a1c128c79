//! The transaction Bundle (http://hl7.org/fhir/R4/bundle.html#transaction).
//!
//! Every entry is keyed by a business identifier so that applying the same
//! message twice changes nothing the second time (http.html#cond-update,
//! http.html#ccreate):
//! - `PUT Type?identifier=sys|val` (conditional update) where the message is the
//!   source of truth for the resource: ADT patients, observations, appointments,
//!   medication requests;
//! - `POST Type` with `ifNoneExist: identifier=sys|val` (conditional create) where
//!   the message only mentions the resource in passing (a PID in an ORU, an XCN
//!   practitioner) and must not overwrite richer data already stored.
//!
//! Entries name each other by `urn:uuid:` fullUrls, which the gateway rewrites to
//! the ids it assigns; the uuids are derived from the key, so they are stable.
//! One key gives one entry: a practitioner named in PV1-7 and PV1-17 is written
//! once (two conditional creates of the same key in one transaction would both
//! find nothing and create two resources).

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use crate::ids::{entry_uuid, token_query};
use crate::merge::Merge;

/// How an entry is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Conditional update on the identifier.
    Put,
    /// Conditional create on the identifier.
    PostIfNoneExist,
}

/// One entry as the gateway will see it, for logging and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryInfo {
    pub resource_type: String,
    pub full_url: String,
    pub method: Method,
    /// The conditional search: `identifier=<system>%7C<value>` (form-encoded).
    pub condition: String,
    /// Set when the entry's resource is to be combined with the stored one
    /// rather than replace it (merge.rs).
    pub merge: Option<Merge>,
}

#[derive(Default)]
pub struct Bundle {
    entries: Vec<(EntryInfo, Map<String, Value>)>,
    by_key: HashMap<String, usize>,
}

impl Bundle {
    /// Adds (or finds) the entry of `rtype` identified by `system|value`; returns
    /// its fullUrl. The first resource given for a key wins.
    pub fn add(
        &mut self,
        rtype: &str,
        system: &str,
        value: &str,
        method: Method,
        resource: Map<String, Value>,
    ) -> String {
        let key = format!("{rtype}|{system}|{value}");
        if let Some(i) = self.by_key.get(&key) {
            if let Some((info, _)) = self.entries.get(*i) {
                return info.full_url.clone();
            }
        }
        let info = EntryInfo {
            resource_type: rtype.to_owned(),
            full_url: entry_uuid(&key),
            method,
            condition: token_query("identifier", system, value),
            merge: None,
        };
        let url = info.full_url.clone();
        self.by_key.insert(key, self.entries.len());
        self.entries.push((info, resource));
        url
    }

    /// Marks the entry `full_url` to be merged with the stored resource (merge.rs).
    pub fn set_merge(&mut self, full_url: &str, merge: Merge) {
        if let Some((info, _)) = self
            .entries
            .iter_mut()
            .find(|(i, _)| i.full_url == full_url)
        {
            info.merge = Some(merge);
        }
    }

    /// Changes the resource of an entry already added (A40 links both patients).
    pub fn resource_mut(&mut self, full_url: &str) -> Option<&mut Map<String, Value>> {
        self.entries
            .iter_mut()
            .find(|(i, _)| i.full_url == full_url)
            .map(|(_, r)| r)
    }

    pub fn infos(&self) -> Vec<EntryInfo> {
        self.entries.iter().map(|(i, _)| i.clone()).collect()
    }

    pub fn into_value(self) -> Value {
        let entries: Vec<Value> = self
            .entries
            .into_iter()
            .map(|(info, mut resource)| {
                // resourceType first, as FHIR JSON writers do.
                resource.shift_insert(
                    0,
                    "resourceType".into(),
                    Value::String(info.resource_type.clone()),
                );
                let request = match info.method {
                    Method::Put => json!({
                        "method": "PUT",
                        "url": format!("{}?{}", info.resource_type, info.condition),
                    }),
                    Method::PostIfNoneExist => json!({
                        "method": "POST",
                        "url": info.resource_type,
                        "ifNoneExist": info.condition,
                    }),
                };
                json!({
                    "fullUrl": info.full_url,
                    "resource": Value::Object(resource),
                    "request": request,
                })
            })
            .collect();
        json!({
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": entries,
        })
    }
}

/// Contained resources of one resource (http://hl7.org/fhir/R4/references.html#contained),
/// used where the IG references a type the gateway does not serve, or a
/// practitioner without an identifier (which could not be written idempotently).
#[derive(Default)]
pub struct Contained {
    items: Vec<Value>,
}

impl Contained {
    /// Adds a resource (which must have `resourceType`), returns its `#id` reference.
    pub fn add(&mut self, mut resource: Map<String, Value>) -> Value {
        let id = format!("c{}", self.items.len() + 1);
        // After resourceType, as FHIR JSON writers put it.
        let mut at = 0;
        if let Some(t) = resource.shift_remove("resourceType") {
            resource.shift_insert(0, "resourceType".into(), t);
            at = 1;
        }
        resource.shift_insert(at, "id".into(), Value::String(id.clone()));
        self.items.push(Value::Object(resource));
        json!({ "reference": format!("#{id}") })
    }

    /// Puts `contained` into the resource when there is any.
    pub fn attach(self, resource: &mut Map<String, Value>) {
        if !self.items.is_empty() {
            resource.shift_insert(0, "contained".into(), Value::Array(self.items));
        }
    }
}
