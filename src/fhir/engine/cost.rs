//! What an interaction costs against its tenant's and client's rate limits
//! (issue #18, src/limits/rate.rs), in units of one read.
//!
//! The weights follow what each kind does to the database, measured in the
//! benchmarks of docs/performance.md only roughly; they need to rank, not to
//! be exact:
//! - read, vread, capabilities: 1. One indexed row (or none): the unit.
//! - create, update, patch, delete: 2. A write is a read of the current
//!   version plus the insert of the new one, its search index rows and its
//!   AuditEvent in the same commit, and it waits for the WAL flush.
//! - conditional create, update and delete: 3. A write plus the lookup of its
//!   criteria (usually an identifier: one index probe).
//! - search and history: 5. A query over an index that may touch a whole
//!   page of rows (20 by default), each decrypted and checked by the decision
//!   point. Each `_include`/`_revinclude` adds 2 (one more query, and the rows
//!   it brings), each chained parameter or `_has` adds 2 (a join).
//! - `$everything`: 10. Every compartment type of one patient.
//! - transaction and batch: the sum of their entries by the same rules
//!   (at least 1), so splitting work into Bundles gains nothing.
//!
//! A cost is capped at [`MAX_COST`]: past it, the burst lets it start and the
//! debt it leaves is what slows its client (limits/rate.rs).

use serde_json::Value;

use super::interaction::{Query, Request};

pub const READ: u32 = 1;
pub const WRITE: u32 = 2;
pub const CONDITIONAL_WRITE: u32 = 3;
pub const SEARCH: u32 = 5;
/// An `_include`, `_revinclude`, chain or `_has`, on top of a search.
pub const JOIN: u32 = 2;
pub const EVERYTHING: u32 = 10;
/// No single interaction costs more: a Bundle of 10,000 entries is already
/// minutes of a modest budget.
pub const MAX_COST: u32 = 1_000_000;

/// The cost of `request` in read units.
pub fn cost(request: &Request) -> u32 {
    match request {
        Request::Capabilities | Request::Read { .. } | Request::Vread { .. } => READ,
        Request::Create { if_none_exist, .. } => match if_none_exist {
            Some(_) => CONDITIONAL_WRITE,
            None => WRITE,
        },
        Request::Update { .. } | Request::Patch { .. } | Request::Delete { .. } => WRITE,
        Request::ConditionalUpdate { .. } | Request::ConditionalDelete { .. } => CONDITIONAL_WRITE,
        Request::Search { query, .. } | Request::History { query, .. } => search(query),
        Request::Everything { .. } => EVERYTHING,
        Request::Bundle { bundle } => bundle_cost(bundle),
    }
}

/// The least a request of `interaction` with these query parameters can
/// cost, known before its token is verified or its body read: what the
/// early refusal of a tenant over its limit waits for (fhir/handlers/common.rs).
/// Never more than [`cost`] of the request it becomes, so that the early
/// refusal refuses nothing the engine would admit.
pub fn floor(interaction: crate::audit::Interaction, query: &[(String, String)]) -> u32 {
    use crate::audit::Interaction as I;
    match interaction {
        I::Update | I::Patch | I::Delete | I::Create => WRITE,
        I::SearchType
        | I::SearchSystem
        | I::HistoryInstance
        | I::HistoryType
        | I::HistorySystem => search_of(query.iter().map(|(name, _)| name.as_str())),
        I::Read | I::Vread | I::Capabilities | I::Transaction | I::Batch | I::Operation => READ,
    }
}

fn search(query: &Query) -> u32 {
    search_of(query.iter().map(|(name, _)| name.as_str()))
}

/// SEARCH plus JOIN for each parameter that makes the search one query more
/// or one join more.
fn search_of<'a>(names: impl Iterator<Item = &'a str>) -> u32 {
    let joins = names
        .filter(|name| {
            let base = name.split(':').next().unwrap_or(name);
            base == "_include" || base == "_revinclude" || base == "_has" || name.contains('.')
        })
        .count();
    let joins = u32::try_from(joins).unwrap_or(u32::MAX);
    SEARCH
        .saturating_add(JOIN.saturating_mul(joins))
        .min(MAX_COST)
}

/// The sum of the entries' costs (Bundle.entry.request: method and url), at
/// least 1; an entry that is not understood costs a write (the engine will
/// refuse it anyway).
pub fn bundle_cost(bundle: &Value) -> u32 {
    let entries = bundle.get("entry").and_then(Value::as_array);
    let total = entries
        .into_iter()
        .flatten()
        .map(entry_cost)
        .fold(0u32, u32::saturating_add);
    total.clamp(1, MAX_COST)
}

fn entry_cost(entry: &Value) -> u32 {
    let request = entry.get("request");
    let field = |name: &str| request.and_then(|r| r.get(name)).and_then(Value::as_str);
    let url = field("url").unwrap_or("");
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let conditional = !query.is_empty() || field("ifNoneExist").is_some();
    match field("method").unwrap_or("") {
        "GET" | "HEAD" => get_cost(path, query),
        "POST" | "PUT" | "DELETE" if conditional => CONDITIONAL_WRITE,
        _ => WRITE,
    }
}

/// A GET entry by the shape of its URL (http.html): `[type]/[id]` and
/// `[type]/[id]/_history/[vid]` are reads, `$everything` is itself, the rest
/// (`[type]?...`, `[type]`, `_history`) are searches or histories.
fn get_cost(path: &str, query: &str) -> u32 {
    let segments: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    if segments.contains(&"$everything") {
        return EVERYTHING;
    }
    match segments.as_slice() {
        ["metadata"] => READ,
        [t, _] | [t, _, "_history", _] if !t.starts_with('_') && !t.starts_with('$') => READ,
        _ => search_of(
            query
                .split('&')
                .filter_map(|pair| pair.split('=').next())
                .filter(|n| !n.is_empty()),
        ),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Query {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn searches_cost_more_with_every_include_and_chain() {
        assert_eq!(search(&q(&[("name", "x")])), SEARCH);
        let joined = q(&[
            ("_include", "Observation:patient"),
            ("_revinclude:iterate", "Provenance:target"),
            ("subject.name", "x"),
            ("_has:Observation:patient:code", "1234-5"),
            ("_count", "10"),
        ]);
        assert_eq!(search(&joined), SEARCH + 4 * JOIN);
    }

    #[test]
    fn a_bundle_costs_the_sum_of_its_entries() {
        let entry = |method: &str, url: &str| json!({"request": {"method": method, "url": url}});
        let bundle = json!({"resourceType": "Bundle", "type": "batch", "entry": [
            entry("GET", "Patient/1"),
            entry("GET", "Patient/1/_history/2"),
            entry("GET", "Patient?name=x&_include=Patient:organization"),
            entry("GET", "Patient/1/_history"),
            entry("GET", "Patient/1/$everything"),
            entry("POST", "Patient"),
            entry("PUT", "Patient?identifier=a|1"),
            entry("PATCH", "Patient/1"),
            entry("DELETE", "Patient/2"),
            {"request": {"method": "POST", "url": "Patient", "ifNoneExist": "identifier=a|2"}},
            {"no": "request"},
        ]});
        let expected = READ
            + READ
            + (SEARCH + JOIN)
            + SEARCH
            + EVERYTHING
            + WRITE
            + CONDITIONAL_WRITE
            + WRITE
            + WRITE
            + CONDITIONAL_WRITE
            + WRITE;
        assert_eq!(bundle_cost(&bundle), expected);
        assert_eq!(bundle_cost(&json!({"resourceType": "Bundle"})), 1);
        let many: Vec<Value> = (0..2000).map(|_| entry("POST", "Patient")).collect();
        assert_eq!(bundle_cost(&json!({"entry": many})), 2000 * WRITE);
    }
}
