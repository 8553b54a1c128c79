//! Search terms of an AuditEvent: the values of the R4 AuditEvent search
//! parameters that have no projected column
//! (http://hl7.org/fhir/R4/auditevent.html#search), stored as text keys in
//! `audit_events.terms` under a GIN index. The writer ([`encode`]) and the
//! search (`fhir/search/audit/terms.rs`) build terms with the functions here, so
//! both sides agree byte for byte.
//!
//! A term is `<param>|<kind>|<value>`. Parameter codes contain no `|`, so the
//! `<param>|` prefix identifies a parameter (`:missing`). Kinds, by parameter type
//! (http://hl7.org/fhir/R4/search.html):
//!
//! | kind | value | answers |
//! |------|-------|---------|
//! | `sc` | `<system>\|<code>` | token `system\|code` |
//! | `c`  | code | token `code` |
//! | `s`  | system | token `system\|` |
//! | `n`  | code of a value without a system | token `\|code` |
//! | `r`  | `Type/id` (or the reference as written, when it is not RESTful) | reference `Type/id` |
//! | `id` | id | reference `id` |
//! | `u`  | uri as written | uri `=` and `:below` |
//! | `str`| folded string (non-PHI) | string default (starts-with), `:contains` |
//! | `x`  | string as written (non-PHI) | string `:exact` |
//! | `bi` | hex blind index of the value as written (PHI) | PHI `:exact`, PHI token |
//! | `bn` | hex blind index of the folded value (PHI) | PHI string default (whole value) |
//!
//! PHI parameters (`store::index::phi::is_phi`: agent-name, entity-name, altid)
//! are stored only as blind indexes; docs/security.md says what that allows.

use fhirgate_search::{IndexEntry, IndexValue};
use serde_json::Value;

use super::event::{Code, Event};
use crate::crypto::BlindIndexer;
use crate::model::ResourceType;
use crate::store::index::phi::{column, fold, is_phi};

/// The AuditEvent parameters answered from `terms` (the others have columns).
pub const TERM_PARAMS: [&str; 9] = [
    "agent-name",
    "agent-role",
    "altid",
    "entity-name",
    "entity-role",
    "entity-type",
    "policy",
    "site",
    "source",
];

const TYPE: &str = ResourceType::AuditEvent.as_str();

/// Term kinds (see the table above).
pub mod kind {
    pub const SYSTEM_CODE: &str = "sc";
    pub const CODE: &str = "c";
    pub const SYSTEM: &str = "s";
    pub const NO_SYSTEM: &str = "n";
    pub const REFERENCE: &str = "r";
    pub const ID: &str = "id";
    pub const URI: &str = "u";
    pub const STRING: &str = "str";
    pub const EXACT: &str = "x";
    pub const BLIND_EXACT: &str = "bi";
    pub const BLIND_NORM: &str = "bn";
}

pub fn term(param: &str, kind: &str, value: &str) -> String {
    format!("{param}|{kind}|{value}")
}

/// `<param>|sc|<system>|<code>`.
pub fn system_code(param: &str, system: &str, code: &str) -> String {
    format!("{param}|{}|{system}|{code}", kind::SYSTEM_CODE)
}

/// Hex of the blind index of `value` in the column (AuditEvent, param, purpose);
/// purpose "exact" for values as written, "norm" for folded ones, like the
/// generic string index (store/index/rows.rs).
pub fn blind(ix: &BlindIndexer, param: &str, purpose: &str, value: &str) -> String {
    hex::encode(ix.index(&column(TYPE, param, purpose), value).0)
}

/// The terms of index values (sorted, without duplicates).
pub fn encode(ix: &BlindIndexer, entries: &[IndexEntry]) -> Vec<String> {
    let mut out = Vec::new();
    for e in entries {
        encode_value(ix, &e.param, &e.value, &mut out);
    }
    out.sort_unstable();
    out.dedup();
    out
}

fn encode_value(ix: &BlindIndexer, p: &str, value: &IndexValue, out: &mut Vec<String>) {
    let phi = is_phi(TYPE, p);
    match value {
        IndexValue::String(s) => {
            let folded = fold(s);
            if folded.is_empty() {
                return;
            }
            if phi {
                out.push(term(p, kind::BLIND_EXACT, &blind(ix, p, "exact", s)));
                out.push(term(p, kind::BLIND_NORM, &blind(ix, p, "norm", &folded)));
            } else {
                out.push(term(p, kind::STRING, &folded));
                out.push(term(p, kind::EXACT, s));
            }
        }
        // A PHI token (altid) is a string element, which has no system
        // (search.html#token): its code alone, blind.
        IndexValue::Token { code: Some(c), .. } if phi => {
            out.push(term(p, kind::BLIND_EXACT, &blind(ix, p, "exact", c)));
        }
        IndexValue::Token { system, code, .. } => match (system, code) {
            (Some(s), Some(c)) => {
                out.push(system_code(p, s, c));
                out.push(term(p, kind::CODE, c));
                out.push(term(p, kind::SYSTEM, s));
            }
            (None, Some(c)) => {
                out.push(term(p, kind::CODE, c));
                out.push(term(p, kind::NO_SYSTEM, c));
            }
            (Some(s), None) => out.push(term(p, kind::SYSTEM, s)),
            (None, None) => {}
        },
        IndexValue::Reference {
            reference,
            target_type,
            target_id,
            ..
        } => match (target_type, target_id, reference) {
            (Some(t), Some(i), _) => {
                out.push(term(p, kind::REFERENCE, &format!("{t}/{i}")));
                out.push(term(p, kind::ID, i));
            }
            (_, _, Some(r)) => out.push(term(p, kind::REFERENCE, r)),
            _ => {}
        },
        IndexValue::Uri(u) => out.push(term(p, kind::URI, u)),
        // No term parameter is a date, number, quantity or composite.
        _ => {}
    }
}

/// The index values of [`TERM_PARAMS`] in an AuditEvent, read along the R4
/// expressions (AuditEvent.agent.name, .agent.role, .agent.altId,
/// .agent.policy, .entity.name, .entity.role, .entity.type, .source.site,
/// .source.observer). The JSON is walked directly rather than through
/// `Registry::extract`, which evaluates all ~25 AuditEvent parameters: measured
/// at ~10 µs per event against ~1.5 µs to serialise it, on the audited-read
/// path. A test checks that both give the same terms.
pub fn values(event: &Value) -> Vec<IndexEntry> {
    let mut out = Vec::new();
    let mut push = |param: &str, value: IndexValue| {
        out.push(IndexEntry {
            param: param.to_owned(),
            value,
        })
    };
    for agent in items(event, "agent") {
        for name in strings(agent, "name") {
            push("agent-name", IndexValue::String(name));
        }
        for role in items(agent, "role") {
            for coding in items(role, "coding") {
                if let Some(t) = token(coding) {
                    push("agent-role", t);
                }
            }
        }
        for alt in strings(agent, "altId") {
            push("altid", code_only(alt));
        }
        for policy in strings(agent, "policy") {
            push("policy", IndexValue::Uri(policy));
        }
    }
    for entity in items(event, "entity") {
        for name in strings(entity, "name") {
            push("entity-name", IndexValue::String(name));
        }
        for (element, param) in [("role", "entity-role"), ("type", "entity-type")] {
            if let Some(t) = entity.get(element).and_then(token) {
                push(param, t);
            }
        }
    }
    for source in items(event, "source") {
        // source.site is a string searched as a token (its code).
        for site in strings(source, "site") {
            push("site", code_only(site));
        }
        if let Some(r) = source.get("observer").and_then(reference) {
            push("source", r);
        }
    }
    out
}

/// The index values of [`TERM_PARAMS`] in an AuditEvent the server built: the
/// same as [`values`] of its JSON (a test checks it), read from the struct. The
/// server's events carry only entity types and roles and the source site.
pub fn of_event(event: &Event) -> Vec<IndexEntry> {
    let token = |c: &Code| IndexValue::Token {
        system: Some(c.system.to_owned()),
        code: Some(c.code.to_owned()),
        text: Some(c.display.to_owned()),
    };
    let mut out = Vec::with_capacity(2 * event.entity.len() + 1);
    for entity in &event.entity {
        for (param, c) in [("entity-role", &entity.role), ("entity-type", &entity.kind)] {
            out.push(IndexEntry {
                param: param.to_owned(),
                value: token(c),
            });
        }
    }
    out.push(IndexEntry {
        param: "site".to_owned(),
        value: code_only(event.source.site.to_owned()),
    });
    out
}

/// The elements under `key`: each array member, or the single value.
fn items<'v>(v: &'v Value, key: &str) -> impl Iterator<Item = &'v Value> {
    let (many, one) = match v.get(key) {
        Some(Value::Array(a)) => (a.as_slice(), None),
        Some(x) => (&[][..], Some(x)),
        None => (&[][..], None),
    };
    many.iter().chain(one)
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    items(v, key)
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

fn code_only(code: String) -> IndexValue {
    IndexValue::Token {
        system: None,
        code: Some(code),
        text: None,
    }
}

/// A Coding as a token (search.html#token: system|code).
fn token(coding: &Value) -> Option<IndexValue> {
    let field = |k: &str| coding.get(k).and_then(Value::as_str).map(str::to_owned);
    let (system, code) = (field("system"), field("code"));
    (system.is_some() || code.is_some()).then_some(IndexValue::Token {
        system,
        code,
        text: field("display"),
    })
}

/// A Reference with a literal `reference` (display-only references are not
/// searchable). RESTful `[base/]Type/id[/_history/v]` references are split
/// (references.html#literal); others are kept as written.
fn reference(v: &Value) -> Option<IndexValue> {
    let text = v.get("reference")?.as_str()?;
    let parts = restful(text);
    Some(IndexValue::Reference {
        reference: Some(text.to_owned()),
        target_type: parts.map(|(t, _)| t.to_owned()),
        target_id: parts.map(|(_, i)| i.to_owned()),
        version: None,
        identifier: None,
    })
}

/// (Type, id) of a relative or http(s) absolute RESTful reference.
pub fn restful(reference: &str) -> Option<(&str, &str)> {
    if reference.contains(['?', '#']) {
        return None;
    }
    let mut segs: Vec<&str> = reference.split('/').collect();
    if segs.len() >= 4 && segs.iter().rev().nth(1) == Some(&"_history") {
        segs.truncate(segs.len() - 2);
    }
    let id = segs.pop()?;
    let ty = segs.pop()?;
    let is_type = ty.starts_with(|c: char| c.is_ascii_uppercase())
        && ty.chars().all(|c| c.is_ascii_alphanumeric());
    let is_id = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    let base_ok = match segs.as_slice() {
        [] => true,
        [scheme, "", host, ..] => matches!(*scheme, "http:" | "https:") && !host.is_empty(),
        _ => false,
    };
    (is_type && is_id && base_ok).then_some((ty, id))
}

#[cfg(test)]
#[path = "terms_tests.rs"]
mod tests;
