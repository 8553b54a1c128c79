//! The limit on JSON values per resource (issue #15, denial of service): every
//! value (object, array, string, number, boolean, null) counts one; a resource
//! nested in another (a Bundle entry's, a contained one: an object with a string
//! `resourceType`) counts for itself, not for the one that holds it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use fhirgate_validate::{parse_json, parse_json_with, IssueCode, JsonError, DEFAULT_MAX_NODES};

/// A Patient of exactly `n` values: the object, its resourceType string, the
/// `name` array, and `n - 3` strings in `name`... as `{"text":"a"}` objects
/// (two values each) plus one string when `n - 3` is odd.
fn patient(n: usize) -> String {
    assert!(n >= 3);
    let rest = n - 3;
    let mut items: Vec<String> = vec![r#"{"text":"a"}"#.to_owned(); rest / 2];
    if rest % 2 == 1 {
        items.push(r#""x""#.to_owned());
    }
    format!(
        r#"{{"resourceType":"Patient","name":[{}]}}"#,
        items.join(",")
    )
}

fn too_many(bytes: &[u8], limit: usize) -> bool {
    matches!(parse_json_with(bytes, limit), Err(JsonError::TooManyNodes { limit: l }) if l == limit)
}

#[test]
fn exactly_the_limit_is_accepted_one_more_is_refused() {
    for n in [3, 4, 5, 10, 11, 1000] {
        assert!(parse_json_with(patient(n).as_bytes(), n).is_ok(), "{n}");
        assert!(too_many(patient(n + 1).as_bytes(), n), "{n}");
    }
}

#[test]
fn every_kind_of_value_counts() {
    // The object, "X", the array a, 1, true, false, null, the object b and the
    // array c: 9 values.
    let body = br#"{"resourceType":"X","a":[1,true,false,null],"b":{"c":[]}}"#;
    assert!(parse_json_with(body, 9).is_ok());
    assert!(too_many(body, 8));
}

#[test]
fn refused_early_without_reading_the_rest() {
    // A million values and then a syntax error at the very end: a parser that
    // builds the tree first would report the syntax error; the limit stops it first.
    let mut body = patient(1_000_000);
    body.truncate(body.len() - 1);
    body.push_str(",}");
    assert!(too_many(body.as_bytes(), 1000));
    // Without a limit in the way, the same body is refused for its syntax.
    assert!(matches!(
        parse_json_with(body.as_bytes(), usize::MAX),
        Err(JsonError::Invalid(_))
    ));
}

#[test]
fn bundle_entries_count_per_resource() {
    // Three entries of 500 values each: 1,500+ values in the Bundle, but no
    // resource over 600.
    let entry = format!(r#"{{"resource":{}}}"#, patient(500));
    let bundle = format!(
        r#"{{"resourceType":"Bundle","type":"transaction","entry":[{e},{e},{e}]}}"#,
        e = entry
    );
    assert!(parse_json_with(bundle.as_bytes(), 600).is_ok());
    // One entry over the limit is enough to refuse the Bundle.
    let big = format!(r#"{{"resource":{}}}"#, patient(601));
    let bundle =
        format!(r#"{{"resourceType":"Bundle","type":"transaction","entry":[{entry},{big}]}}"#);
    assert!(too_many(bundle.as_bytes(), 600));
    // The Bundle's own values (outside its entries' resources) count for the Bundle:
    // 3 entries hold 3 objects (entry) + ... all far under 600; 700 entries are not.
    let small = r#"{"resource":{"resourceType":"Patient"}}"#;
    let many = vec![small; 700].join(",");
    let bundle = format!(r#"{{"resourceType":"Bundle","type":"batch","entry":[{many}]}}"#);
    assert!(too_many(bundle.as_bytes(), 600));
}

#[test]
fn a_nested_resource_whose_resource_type_comes_last_counts_for_itself() {
    // Key order is not significant in JSON (RFC 8259 section 4); serializers that
    // sort keys put resourceType after the content.
    let inner = |n: usize| {
        let items = vec![r#""x""#; n].join(",");
        format!(r#"{{"name":[{items}],"resourceType":"Patient"}}"#)
    };
    let body = format!(
        r#"{{"entry":[{{"resource":{a}}},{{"resource":{b}}}],"resourceType":"Bundle","type":"batch"}}"#,
        a = inner(400),
        b = inner(400)
    );
    assert!(parse_json_with(body.as_bytes(), 500).is_ok());
    assert!(too_many(inner(600).as_bytes(), 500));
}

#[test]
fn contained_resources_count_for_themselves() {
    let c = patient(400);
    let body =
        format!(r#"{{"resourceType":"Observation","contained":[{c},{c}],"status":"final"}}"#);
    assert!(parse_json_with(body.as_bytes(), 500).is_ok());
}

#[test]
fn parse_json_applies_the_default_limit_as_a_too_costly_issue() {
    assert_eq!(DEFAULT_MAX_NODES, 100_000);
    assert!(parse_json(patient(DEFAULT_MAX_NODES).as_bytes()).is_ok());
    let issue = parse_json(patient(DEFAULT_MAX_NODES + 1).as_bytes()).unwrap_err();
    assert_eq!(issue.code, IssueCode::TooCostly);
    assert!(
        issue.diagnostics.contains("100000"),
        "{}",
        issue.diagnostics
    );
}
