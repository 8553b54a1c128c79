//! What of a source Bundle is sent, and how: entries of types this gateway does
//! not serve are left out and counted; references to them are rewritten so the
//! kept resources stay valid R4; collections become transactions; POSTs of
//! resources with an identifier become conditional creates.
//!
//! Why each rule (the module comment of `import/mod.rs` and the README say the same):
//! - A reference to a left-out entry by its `urn:uuid:` fullUrl would dangle,
//!   which a transaction refuses (bundle.html#references). It becomes a Reference with
//!   only `type`, the target's first `identifier` when it has one, and `display`
//!   (http://hl7.org/fhir/R4/references.html#Reference: a Reference may carry
//!   any of them alone), so what it pointed at stays known without a link.
//!   Every other reference (`Encounter/1`, absolute URLs), in a resource or its
//!   `contained`, is kept as it is: import stores what a PUT would store.
//! - Response Bundles (batch-response, transaction-response, searchset,
//!   history) are a server's answers, not data: skipped and listed.
//! - `MedicationRequest.medication[x]` is required (1..1). A `medicationReference`
//!   to a left-out Medication entry that has a `code` becomes
//!   `medicationCodeableConcept` with that code (the valid alternative R4 offers,
//!   medicationrequest.html); without a code it gets the display-only Reference.
//! - A collection (or document) has no requests: each entry is PUT
//!   `Type/id` when its resource has a valid id, else POSTed; fullUrls are kept so
//!   the transaction rewrites references to them (http.html#trules).
//! - ifNoneExist `identifier=system|value` (first identifier with both) on POSTs
//!   that have none makes a re-import find the Patient and Practitioners it
//!   stored before instead of duplicating them (http.html#ccreate). Those entries
//!   go first, ordered by type and criteria, so concurrent imports take the
//!   conditional-create locks in one order and cannot deadlock.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Map, Value};

use crate::model::{ResourceId, ResourceType};

/// One entry as sent: how the response entry at the same position is counted.
#[derive(Debug, Clone)]
pub struct Sent {
    pub rtype: String,
    pub method: String,
}

/// A Bundle ready to send.
#[derive(Debug, Default)]
pub struct Prepared {
    /// The transaction or batch Bundle's JSON; None when nothing is left to send.
    pub body: Option<Vec<u8>>,
    pub sent: Vec<Sent>,
    /// Left out, by resource type: "type not served".
    pub unserved: BTreeMap<String, u64>,
    /// References rewritten because their target was left out.
    pub rewritten: u64,
}

#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Add ifNoneExist on identifier to POSTs (re-imports do not duplicate).
    pub identifier_match: bool,
}

/// What is known of a left-out entry that kept ones may reference.
struct Target {
    rtype: String,
    identifier: Option<Value>,
    code: Option<Value>,
}

/// A type the gateway writes on a client's behalf (AuditEvents are written by
/// the server only).
pub fn served(rtype: &str) -> bool {
    ResourceType::parse(rtype).is_some_and(ResourceType::client_writable)
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// The type an entry is about: its resource's, else its request URL's.
fn entry_type(e: &Value) -> String {
    if let Some(t) = e.get("resource").and_then(|r| text(r, "resourceType")) {
        return t.to_owned();
    }
    let url = e.get("request").and_then(|r| text(r, "url")).unwrap_or("");
    let path = url.split('?').next().unwrap_or("");
    path.rsplit('/')
        .find(|seg| seg.chars().next().is_some_and(|c| c.is_ascii_uppercase()))
        .unwrap_or("(unknown)")
        .to_owned()
}

fn first_identifier(resource: &Value) -> Option<&Value> {
    resource
        .get("identifier")?
        .as_array()?
        .iter()
        .find(|i| text(i, "system").is_some() && text(i, "value").is_some())
}

/// `identifier=system|value`, form-encoded as a query (http.html#ccreate).
fn identifier_criteria(resource: &Value) -> Option<String> {
    let i = first_identifier(resource)?;
    let token = format!("{}|{}", text(i, "system")?, text(i, "value")?);
    serde_urlencoded::to_string([("identifier", token)]).ok()
}

/// Why a source Bundle sends nothing.
#[derive(Debug, Clone, PartialEq)]
pub enum NotSent {
    /// A server's answer (batch-response, transaction-response, searchset,
    /// history: bundle.html#bundle-types): a folder exported from a server
    /// holds them beside its data; they are not data to load, so they are
    /// skipped and listed, not a failure.
    Response(String),
    /// Not an importable Bundle: a hard failure.
    Invalid(String),
}

/// Turns one source Bundle into what is sent. `kind` is the source's Bundle.type.
pub fn prepare(mut bundle: Value, opts: Options) -> Result<Prepared, NotSent> {
    let kind = text(&bundle, "type").unwrap_or("").to_owned();
    let out_kind = match kind.as_str() {
        "transaction" | "batch" => kind.as_str(),
        "collection" | "document" => "transaction",
        "batch-response" | "transaction-response" | "searchset" | "history" => {
            return Err(NotSent::Response(format!(
                "a {kind} Bundle is a server's answer, not data to import: skipped"
            )))
        }
        other => {
            return Err(NotSent::Invalid(format!(
                "a Bundle of type {other:?} is not imported (transaction, batch, collection or document)"
            )))
        }
    };
    let entries = match bundle.get_mut("entry").map(Value::take) {
        None => Vec::new(),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(NotSent::Invalid("Bundle.entry is not an array".into())),
    };
    let mut prepared = Prepared::default();
    let mut left_out: HashMap<String, Target> = HashMap::new();
    let mut kept = Vec::new();
    for e in entries {
        let rtype = entry_type(&e);
        if served(&rtype) {
            kept.push(e);
            continue;
        }
        *prepared.unserved.entry(rtype.clone()).or_default() += 1;
        // Only a `urn:` fullUrl leaves a reference that cannot be stored (a
        // transaction refuses an unresolved urn:uuid, bundle.html#references);
        // `Type/id` and absolute references to a left-out entry are kept, as a
        // PUT of the referring resource would keep them.
        let full_url = text(&e, "fullUrl").filter(|u| u.starts_with("urn:"));
        if let (Some(url), Some(r)) = (full_url, e.get("resource")) {
            left_out.insert(
                url.to_owned(),
                Target {
                    rtype,
                    identifier: first_identifier(r).cloned(),
                    code: r.get("code").cloned(),
                },
            );
        }
    }
    let mut out = Vec::with_capacity(kept.len());
    for mut e in kept {
        let rtype = entry_type(&e);
        if out_kind == "transaction" && kind != "transaction" {
            e = as_request(e, &rtype);
        }
        if let Some(Value::Object(r)) = e.get_mut("resource") {
            prepared.rewritten += rewrite_coded(r, &left_out);
            prepared.rewritten += rewrite_refs(r, &left_out);
        }
        if opts.identifier_match {
            add_if_none_exist(&mut e);
        }
        out.push(e);
    }
    if out_kind == "transaction" {
        // Conditional creates first, in one global order (see the module comment).
        out.sort_by_cached_key(lock_key);
    }
    prepared.sent = out
        .iter()
        .map(|e| Sent {
            rtype: entry_type(e),
            method: e
                .get("request")
                .and_then(|r| text(r, "method"))
                .unwrap_or("")
                .to_owned(),
        })
        .collect();
    if !out.is_empty() {
        let b = json!({"resourceType": "Bundle", "type": out_kind, "entry": out});
        prepared.body = Some(serde_json::to_vec(&b).map_err(|e| NotSent::Invalid(e.to_string()))?);
    }
    Ok(prepared)
}

/// Entries with ifNoneExist sort first by (type, criteria); the rest keep their order.
fn lock_key(e: &Value) -> (u8, String, String) {
    match e.get("request").and_then(|r| text(r, "ifNoneExist")) {
        Some(c) => (0, entry_type(e), c.to_owned()),
        None => (1, String::new(), String::new()),
    }
}

/// A collection entry as a transaction entry: PUT `Type/id` when the resource has
/// a valid id (its identity is the sender's), else POST `Type`.
fn as_request(mut e: Value, rtype: &str) -> Value {
    let id = e
        .get("resource")
        .and_then(|r| text(r, "id"))
        .and_then(ResourceId::parse);
    let request = match id {
        Some(id) => json!({"method": "PUT", "url": format!("{rtype}/{id}")}),
        None => json!({"method": "POST", "url": rtype}),
    };
    if let Some(m) = e.as_object_mut() {
        m.remove("search");
        m.remove("response");
        m.insert("request".into(), request);
    }
    e
}

fn add_if_none_exist(e: &mut Value) {
    let is_post = e.get("request").and_then(|r| text(r, "method")) == Some("POST");
    let has = e
        .get("request")
        .and_then(|r| r.get("ifNoneExist"))
        .is_some();
    if !is_post || has {
        return;
    }
    let Some(criteria) = e.get("resource").and_then(identifier_criteria) else {
        return;
    };
    if let Some(Value::Object(req)) = e.get_mut("request") {
        req.insert("ifNoneExist".into(), Value::String(criteria));
    }
}

/// The Reference that replaces one to a left-out target: type, identifier and
/// display, each only when the original did not carry it already.
fn detach(reference: &mut Map<String, Value>, rtype: &str, identifier: Option<&Value>) {
    reference.remove("reference");
    if !reference.contains_key("type") {
        reference.insert("type".into(), Value::String(rtype.to_owned()));
    }
    if let (false, Some(i)) = (reference.contains_key("identifier"), identifier) {
        reference.insert("identifier".into(), i.clone());
    }
    if !reference.contains_key("display") {
        reference.insert(
            "display".into(),
            Value::String(format!("{rtype} (not imported by fhirgate)")),
        );
    }
}

/// The Reference of a Reference-or-CodeableConcept choice
/// (`Descriptor::coded_references`: `MedicationRequest.medicationReference`)
/// to a left-out entry that has a `code` becomes the CodeableConcept with that
/// code (`medicationCodeableConcept`; medication[x] is 1..1).
fn rewrite_coded(r: &mut Map<String, Value>, left_out: &HashMap<String, Target>) -> u64 {
    let Some(rtype) = r
        .get("resourceType")
        .and_then(Value::as_str)
        .and_then(ResourceType::parse)
    else {
        return 0;
    };
    let mut n = 0;
    for &(reference, concept) in rtype.descriptor().coded_references {
        let code = r
            .get(reference)
            .and_then(|m| text(m, "reference"))
            .and_then(|u| left_out.get(u))
            .and_then(|t| t.code.clone());
        if let Some(code) = code {
            r.remove(reference);
            r.insert(concept.into(), code);
            n += 1;
        }
    }
    n
}

/// Rewrites, at any depth, every Reference whose target was left out (by its
/// `urn:` fullUrl); returns how many. A reference to an unserved type by
/// `Type/id` is left as it is: the gateway stores it so through PUT
/// (references.html: a literal reference need not resolve on this server).
fn rewrite_refs(r: &mut Map<String, Value>, left_out: &HashMap<String, Target>) -> u64 {
    let mut n = 0;
    let target = r
        .get("reference")
        .and_then(Value::as_str)
        .and_then(|s| left_out.get(s))
        .map(|t| (t.rtype.clone(), t.identifier.clone()));
    if let Some((rtype, identifier)) = target {
        detach(r, &rtype, identifier.as_ref());
        n += 1;
    }
    for (_, child) in r.iter_mut() {
        n += rewrite_value(child, left_out);
    }
    n
}

fn rewrite_value(v: &mut Value, left_out: &HashMap<String, Target>) -> u64 {
    match v {
        Value::Object(m) => rewrite_refs(m, left_out),
        Value::Array(items) => items.iter_mut().map(|i| rewrite_value(i, left_out)).sum(),
        _ => 0,
    }
}

#[cfg(test)]
#[path = "filter_tests.rs"]
mod tests;
