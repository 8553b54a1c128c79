//! Conditional reads (http://hl7.org/fhir/R4/http.html#cread) as GET entries of
//! transactions and batches (Bundle.entry.request.ifNoneMatch, ifModifiedSince)
//! and as plain reads (If-None-Match, If-Modified-Since). Expected statuses are
//! worked out from the quoted rules, never from what the server returns.

use crate::bundles::*;
use crate::helpers::*;
use serde_json::{json, Value};

/// A GET entry of `url` with the given conditional-read fields.
fn cond_get(url: &str, none_match: Option<&str>, modified_since: Option<&str>) -> Value {
    let mut e = get_entry(url);
    if let Some(m) = none_match {
        e["request"]["ifNoneMatch"] = json!(m);
    }
    if let Some(s) = modified_since {
        e["request"]["ifModifiedSince"] = json!(s);
    }
    e
}

// bundle.html, Bundle.entry.request.ifNoneMatch / ifModifiedSince: "Only
// perform the operation if the Etag value does not match / if the last updated
// date matches"; http.html#cread: 304 Not Modified where the content is
// unchanged. RFC 7232 §3.3: If-Modified-Since is ignored when If-None-Match is
// present. A 304 entry carries no resource.
#[tokio::test]
async fn conditional_read_entries_answer_304() {
    let app = spawn_app().await;
    let (id, body) = app.create(&mrn_patient("Cached", "CR-1")).await;
    let updated = body["meta"]["lastUpdated"].as_str().unwrap().to_owned();
    let url = format!("Patient/{id}");
    let entries = vec![
        cond_get(&url, Some("W/\"1\""), None),
        cond_get(&url, Some("W/\"2\""), None),
        cond_get(&url, None, Some(&updated)),
        cond_get(&url, None, Some("2000-01-01T00:00:00Z")),
        cond_get(&url, Some("W/\"2\""), Some("2999-01-01T00:00:00Z")),
        cond_get(&url, None, None),
    ];
    let want = [304, 200, 304, 200, 200, 200];
    for kind in ["transaction", "batch"] {
        let b = answered(
            &app,
            &bundle(kind, entries.clone()),
            &format!("{kind}-response"),
        )
        .await;
        for (i, status) in want.iter().enumerate() {
            assert_eq!(code(&b, i), *status, "{kind} entry {i}: {}", b["entry"][i]);
            let resource = &b["entry"][i]["resource"];
            if *status == 304 {
                assert!(resource.is_null(), "{kind} entry {i}: {resource}");
            } else {
                assert_eq!(resource["id"], id.as_str(), "{kind} entry {i}");
            }
        }
    }
}

// http.html#cread: "Clients may use the If-Modified-Since, or If-None-Match
// HTTP header on a read request"; the CapabilityStatement says which the
// server supports (conditionalRead, full-support = both). RFC 7232: §3.2 a
// list of entity-tags compared weakly; §3.3 If-Modified-Since is ignored when
// If-None-Match is present or when it is not a valid HTTP-date, and is met
// (304) when the resource was not modified after the date.
#[tokio::test]
async fn plain_read_honours_if_modified_since() {
    let app = spawn_app().await;
    let (id, _) = app.create(&mrn_patient("Dated", "IMS-1")).await;
    let path = format!("Patient/{id}");
    let first = app.get(&path).await;
    assert_eq!(first.status(), 200);
    let last_modified = first.headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_owned();
    let cases: [(&[(&str, &str)], u16); 6] = [
        (&[("if-modified-since", &last_modified)], 304),
        (
            &[("if-modified-since", "Sat, 01 Jan 2000 00:00:00 GMT")],
            200,
        ),
        (&[("if-modified-since", "yesterday")], 200),
        (
            &[
                ("if-none-match", "W/\"2\""),
                ("if-modified-since", &last_modified),
            ],
            200,
        ),
        (&[("if-none-match", "W/\"7\", W/\"1\"")], 304),
        (&[("if-none-match", "*")], 304),
    ];
    for (headers, status) in cases {
        let mut req = app.client.get(app.url(&path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status().as_u16(), status, "{headers:?}");
        if status == 304 {
            assert_eq!(resp.headers()["etag"], "W/\"1\"", "{headers:?}");
            assert!(resp.bytes().await.unwrap().is_empty(), "{headers:?}");
        }
    }
    let cs = app.get_value("metadata").await;
    let patient = cs["rest"][0]["resource"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "Patient")
        .unwrap();
    assert_eq!(patient["conditionalRead"], "full-support");
}
