//! Helpers shared by the issue #3 search tests (search_params, search_ordered,
//! search_results, search_chains, search_hostile). Expected result sets in those
//! tests are worked out by hand from each test's own data and
//! http://hl7.org/fhir/R4/search.html, never from what the server returns.

use crate::helpers::*;
use serde_json::Value;

/// GETs a search and checks it is a 200 searchset Bundle.
pub async fn search(app: &TestApp, query: &str) -> Value {
    let resp = app.get(query).await;
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    assert_eq!(status, 200, "{query}: {text}");
    let b: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(b["resourceType"], "Bundle", "{query}");
    assert_eq!(b["type"], "searchset", "{query}");
    b
}

/// `v` in order (to compare result sets whose order is not specified).
pub fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// The ids of the entries with search.mode `match`, in Bundle order.
pub fn match_ids(b: &Value) -> Vec<String> {
    mode_entries(b, "match")
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

/// "Type/id" of the entries with search.mode `include`, sorted.
pub fn included(b: &Value) -> Vec<String> {
    let mut v: Vec<String> = mode_entries(b, "include")
        .iter()
        .map(|r| {
            format!(
                "{}/{}",
                r["resourceType"].as_str().unwrap(),
                r["id"].as_str().unwrap()
            )
        })
        .collect();
    v.sort();
    v
}

pub fn mode_entries(b: &Value, mode: &str) -> Vec<Value> {
    b["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["search"]["mode"] == mode)
        .map(|e| e["resource"].clone())
        .collect()
}

/// Every resource (by Type/id) appears at most once in a searchset
/// (search.html#include: "a resource ... is only included once").
pub fn assert_no_duplicates(b: &Value, query: &str) {
    let mut seen: Vec<String> = b["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["search"]["mode"] != "outcome")
        .map(|e| {
            format!(
                "{}/{}",
                e["resource"]["resourceType"].as_str().unwrap(),
                e["resource"]["id"].as_str().unwrap()
            )
        })
        .collect();
    let n = seen.len();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), n, "{query}: duplicate entries");
}

/// The sorted ids of the matches of a search whose result fits on one page
/// (no `next` link). When the server gives a total it must equal the matches.
pub async fn ids(app: &TestApp, query: &str) -> Vec<String> {
    let b = search(app, query).await;
    assert!(
        !links(&b).iter().any(|(rel, _)| rel == "next"),
        "{query}: the test data must fit on one page"
    );
    assert_no_duplicates(&b, query);
    let mut out = match_ids(&b);
    out.sort();
    if let Some(t) = b["total"].as_u64() {
        assert_eq!(t as usize, out.len(), "{query}: total");
    }
    out
}

/// The matches' ids in Bundle order (for _sort checks).
pub async fn ordered_ids(app: &TestApp, query: &str) -> Vec<String> {
    let b = search(app, query).await;
    assert_no_duplicates(&b, query);
    match_ids(&b)
}

/// The expected set: the given ids, sorted.
pub fn set(v: &[&String]) -> Vec<String> {
    let mut out: Vec<String> = v.iter().map(|s| (*s).clone()).collect();
    out.sort();
    out
}

pub const NONE: Vec<String> = Vec::new();

/// (relation, url) of a Bundle's links.
pub fn links(b: &Value) -> Vec<(String, String)> {
    b["link"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| {
            (
                l["relation"].as_str().unwrap_or_default().to_owned(),
                l["url"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

pub fn link(b: &Value, relation: &str) -> Option<String> {
    links(b)
        .into_iter()
        .find(|(r, _)| r == relation)
        .map(|(_, u)| u)
}

/// Follows `next` links from a first page until there are none; returns every page.
pub async fn all_pages(app: &TestApp, query: &str) -> Vec<Value> {
    let mut pages = vec![search(app, query).await];
    while let Some(next) = pages.last().and_then(|p| link(p, "next")) {
        assert!(pages.len() < 100, "{query}: runaway paging");
        let resp = app.client.get(&next).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{next}");
        pages.push(resp.json().await.unwrap());
    }
    pages
}

/// The search is refused with a 400 OperationOutcome.
pub async fn refused(app: &TestApp, query: &str) {
    let resp = app.get(query).await;
    assert_eq!(resp.status().as_u16(), 400, "{query} should be refused");
    assert_outcome(resp, 400).await;
}

/// meta.tag holds the SUBSETTED code (search.html#summary, #elements).
pub fn is_subsetted(r: &Value) -> bool {
    r["meta"]["tag"].as_array().into_iter().flatten().any(|t| {
        t["code"] == "SUBSETTED"
            && t["system"] == "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"
    })
}

/// A minimal valid Observation with a LOINC code.
pub fn obs(code: &str) -> Value {
    serde_json::json!({
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]}
    })
}

/// `base` with the fields of `extra` added (shallow).
pub fn with(base: Value, extra: Value) -> Value {
    let mut b = base;
    for (k, v) in extra.as_object().unwrap() {
        b[k] = v.clone();
    }
    b
}

/// Creates a resource under a chosen id (update-as-create) and returns the id.
pub async fn put(app: &TestApp, resource: Value) -> String {
    let rtype = resource["resourceType"].as_str().unwrap().to_owned();
    let id = resource["id"].as_str().unwrap().to_owned();
    let resp = app.put_json(&format!("{rtype}/{id}"), &resource).await;
    let status = resp.status().as_u16();
    assert!(
        status == 201 || status == 200,
        "PUT {rtype}/{id}: {status} {}",
        resp.text().await.unwrap()
    );
    id
}
