//! Issue #3, hostile search input: every query gets a 4xx OperationOutcome or a
//! correct 200 searchset (usually empty), never a 5xx, a hang or a broken
//! database.

use crate::helpers::*;
use crate::search_common::*;
use serde_json::{json, Value};

/// What a hostile query may give besides a 4xx OperationOutcome.
enum Ok200 {
    /// A searchset with no matches.
    Empty,
    /// A searchset with exactly these matches (any order; includes allowed
    /// only among `includes`).
    Exactly(Vec<String>),
    /// A parameter the server may not understand (an unknown modifier, a chain
    /// or _has through an unknown type or parameter): a searchset with no
    /// matches, or these matches (the parameter ignored, search.html#errors)
    /// together with a search.mode outcome entry saying so.
    Ignorable(Vec<String>),
    /// Any searchset (the query has no single correct reading, e.g. garbage
    /// paging tokens); still not a 5xx.
    Any,
    /// No 200 at all: must be refused.
    Refused,
}

async fn check(app: &TestApp, method: &str, query: &str, ok: &Ok200, includes: &[String]) {
    let short: String = query.chars().take(120).collect();
    let resp = if method == "GET" {
        app.client
            .get(app.url(query))
            .timeout(std::time::Duration::from_secs(60))
            .send()
            .await
    } else {
        let (path, body) = query.split_once('?').unwrap();
        app.client
            .post(app.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_owned())
            .timeout(std::time::Duration::from_secs(60))
            .send()
            .await
    };
    // A query the server cannot answer in a minute is a denial of service.
    let resp = resp.unwrap_or_else(|e| panic!("{method} {short}: {e}"));
    let status = resp.status().as_u16();
    assert!(status < 500, "{method} {short}: {status}");
    if (400..500).contains(&status) {
        // search.html#errors: a refusal is an OperationOutcome.
        assert_outcome(resp, status).await;
        return;
    }
    assert_eq!(status, 200, "{method} {short}");
    assert!(
        !matches!(ok, Ok200::Refused),
        "{method} {short} must be refused"
    );
    let b: Value = resp.json().await.unwrap();
    assert_eq!(b["type"], "searchset", "{method} {short}");
    assert_no_duplicates(&b, &short);
    let mut got = match_ids(&b);
    got.sort();
    match ok {
        Ok200::Empty => assert_eq!(got, NONE, "{method} {short}"),
        Ok200::Exactly(want) => {
            assert_eq!(&got, want, "{method} {short}");
            for inc in included(&b) {
                assert!(includes.contains(&inc), "{method} {short}: include {inc}");
            }
        }
        Ok200::Ignorable(all) => {
            if !got.is_empty() {
                assert_eq!(&got, all, "{method} {short}");
                assert!(
                    !mode_entries(&b, "outcome").is_empty(),
                    "{method} {short}: a parameter was ignored without saying so"
                );
            }
        }
        Ok200::Any | Ok200::Refused => {}
    }
}

#[tokio::test]
async fn hostile_queries() {
    let app = spawn_app().await;
    // Two Patients linked to each other (a reference cycle) and an Observation.
    let pat = |id: &str, other: &str| {
        json!({"resourceType": "Patient", "id": id, "name": [{"family": "Hostile"}],
               "link": [{"other": {"reference": format!("Patient/{other}")}, "type": "seealso"}]})
    };
    let h1 = put(&app, pat("hx1", "hx2")).await;
    let h2 = put(&app, pat("hx2", "hx1")).await;
    let (x, _) = app
        .create(&with(
            obs("8867-4"),
            json!({"subject": {"reference": "Patient/hx1"}}),
        ))
        .await;
    let both = set(&[&h1, &h2]);
    // What an include may bring in: the two Patients and the Observation.
    let pats = vec![
        format!("Patient/{h1}"),
        format!("Patient/{h2}"),
        format!("Observation/{x}"),
    ];
    let sql = "%27%3B%20DROP%20TABLE%20resources%3B%20--";
    let long = "a".repeat(10_000);
    let chain20 = format!("Observation?{}name=x", "subject.".repeat(20));
    let link20 = format!(
        "Observation?subject:Patient.{}name=nomatch",
        "link:Patient.".repeat(20)
    );
    let has10 = format!("Patient?{}_id=hx1", "_has:Patient:link:".repeat(10));
    let many_and = vec!["name=zz"; 500].join("&");
    let many_or = vec!["zz"; 2000].join(",");

    use Ok200::*;
    let cases: Vec<(&str, String, Ok200)> = vec![
        // Quotes and SQL in values (every value is data, never SQL).
        ("GET", format!("Patient?name={sql}"), Empty),
        ("GET", "Patient?family=O%27Brien%22%5C".into(), Empty),
        ("GET", format!("Observation?code={sql}"), Empty),
        ("GET", format!("Observation?code=http://x|{sql}"), Empty),
        ("GET", format!("Observation?subject=Patient/{sql}"), Empty),
        ("GET", format!("Observation?date=ge{sql}"), Empty),
        (
            "GET",
            format!("Observation?value-quantity=5.4|{sql}|{sql}"),
            Empty,
        ),
        ("GET", format!("Patient?_id={sql}"), Empty),
        ("GET", format!("AuditEvent?address={sql}"), Empty),
        ("GET", format!("AuditEvent?subtype={sql}"), Empty),
        // LIKE wildcards are literal characters.
        ("GET", "Patient?name=%25".into(), Empty),
        ("GET", "Patient?name=_".into(), Empty),
        ("GET", "Patient?name=%5C".into(), Empty),
        ("GET", "AuditEvent?address:contains=%25".into(), Empty),
        ("GET", "AuditEvent?address=_".into(), Empty),
        // ... and in parameter names (unknown: ignored, or refused).
        ("GET", format!("Patient?{sql}=1"), Exactly(both.clone())),
        (
            "GET",
            format!("Patient?name:{sql}=x"),
            Ignorable(both.clone()),
        ),
        ("GET", format!("Patient?_sort={sql}"), Exactly(both.clone())),
        (
            "GET",
            "Patient?_sort=name;DROP".into(),
            Exactly(both.clone()),
        ),
        ("GET", format!("Patient?_sort=name,{sql}"), Refused),
        ("GET", format!("Patient?name:contains={sql}"), Refused),
        (
            "GET",
            "Patient?_sort=unknownparam".into(),
            Exactly(both.clone()),
        ),
        ("GET", "Patient?_sort=,,-".into(), Exactly(both.clone())),
        (
            "GET",
            format!("Patient?_elements={sql}"),
            Exactly(both.clone()),
        ),
        (
            "GET",
            "Patient?_summary=garbage".into(),
            Exactly(both.clone()),
        ),
        (
            "GET",
            "Patient?_total=garbage".into(),
            Exactly(both.clone()),
        ),
        // _count out of range or not a number.
        (
            "GET",
            "Patient?_count=99999999999999999999".into(),
            Exactly(both.clone()),
        ),
        ("GET", "Patient?_count=-1".into(), Exactly(both.clone())),
        ("GET", "Patient?_count=abc".into(), Exactly(both.clone())),
        ("GET", "Patient?_count=1e3".into(), Exactly(both.clone())),
        ("GET", "Patient?_count=0".into(), Any),
        // Deep chains and nested _has.
        ("GET", chain20, Ignorable(vec![x.clone()])),
        ("GET", link20, Empty),
        ("GET", has10, Exactly(vec![h1.clone()])),
        ("GET", "Patient?_has:Observation".into(), Any),
        ("GET", "Patient?_has:Observation:patient=x".into(), Any),
        (
            "GET",
            "Patient?_has:Nope:patient:code=x".into(),
            Ignorable(both.clone()),
        ),
        (
            "GET",
            "Patient?_has:Observation:nope:code=x".into(),
            Ignorable(both.clone()),
        ),
        (
            "GET",
            "Observation?subject:Nope.name=x".into(),
            Ignorable(vec![x.clone()]),
        ),
        ("GET", "Observation?subject:Patient.bogus=x".into(), Any),
        // Include loops over the reference cycle terminate.
        (
            "GET",
            "Patient?_include=*&_include:iterate=*".into(),
            Exactly(both.clone()),
        ),
        (
            "GET",
            "Patient?_revinclude=*&_revinclude:iterate=*&_include:iterate=*".into(),
            Exactly(both.clone()),
        ),
        (
            "GET",
            "Observation?_include=*&_include:iterate=*".into(),
            Exactly(vec![x.clone()]),
        ),
        (
            "GET",
            "Patient?_include=Nope:link".into(),
            Exactly(both.clone()),
        ),
        (
            "GET",
            "Patient?_include=Patient:nope".into(),
            Exactly(both.clone()),
        ),
        (
            "GET",
            format!("Patient?_include={sql}"),
            Exactly(both.clone()),
        ),
        // Very long values and names.
        ("GET", format!("Patient?name={long}"), Empty),
        ("GET", format!("Observation?code={long}"), Empty),
        ("GET", format!("Observation?date=ge{long}"), Empty),
        ("GET", format!("Patient?{long}=1"), Exactly(both.clone())),
        ("GET", format!("Patient?{many_and}"), Empty),
        ("GET", format!("Patient?name={many_or}"), Empty),
        // Invalid dates, bad prefixes, absurd numbers.
        ("GET", "Observation?date=ge2020-13-45".into(), Empty),
        ("GET", "Observation?date=2020-02-30".into(), Empty),
        ("GET", "Observation?date=xx2020-01-01".into(), Empty),
        ("GET", "Observation?date=gte2020".into(), Empty),
        ("GET", "Observation?date=ge99999".into(), Empty),
        ("GET", "Observation?date=ge-0001".into(), Empty),
        (
            "GET",
            "Observation?_lastUpdated=ge9999-12-31T23:59:59Z".into(),
            Empty,
        ),
        ("GET", "Observation?value-quantity=zz5".into(), Empty),
        ("GET", "Observation?value-quantity=1e999999".into(), Empty),
        (
            "GET",
            "Observation?value-quantity=gt-1e999999".into(),
            Empty,
        ),
        (
            "GET",
            "Observation?code-value-quantity=http://loinc.org|8480-6$gt%27".into(),
            Empty,
        ),
        ("GET", "Observation?code-value-quantity=$$$".into(), Empty),
        // NUL and control characters, invalid UTF-8.
        ("GET", "Patient?name=%00".into(), Empty),
        ("GET", "Patient?name=a%00b".into(), Empty),
        ("GET", "Patient?name=%01%02%1F%7F".into(), Empty),
        ("GET", "Observation?code=%00%0A%0D".into(), Empty),
        ("GET", "Patient?%00=1".into(), Exactly(both.clone())),
        ("GET", "Patient?name=%C3%28".into(), Empty),
        ("GET", "Patient?name=%FF%FE".into(), Empty),
        ("GET", "Patient?name=%E2%82".into(), Empty),
        ("GET", "Patient?%FF=1".into(), Exactly(both.clone())),
        ("GET", "Observation?date=%FF".into(), Empty),
        // Unknown modifiers and empty values.
        ("GET", "Patient?name:foo=x".into(), Ignorable(both.clone())),
        (
            "GET",
            "Observation?code:foo=x".into(),
            Ignorable(vec![x.clone()]),
        ),
        (
            "GET",
            "Observation?date:exact=2020".into(),
            Ignorable(vec![x.clone()]),
        ),
        ("GET", "Patient?name=".into(), Exactly(both.clone())),
        ("GET", "Patient?name:missing=maybe".into(), Any),
        ("GET", "Observation?code=".into(), Exactly(vec![x.clone()])),
        ("GET", "Patient?=x".into(), Exactly(both.clone())),
        // Garbage paging tokens.
        ("GET", "Patient?_page=garbage".into(), Any),
        ("GET", format!("Patient?_page={sql}"), Any),
        ("GET", format!("Patient?_page={long}"), Any),
        ("GET", "Patient?_page=%00%FF".into(), Any),
        // The same through POST _search.
        ("POST", format!("Patient/_search?name={sql}"), Empty),
        ("POST", "Patient/_search?name=%00".into(), Empty),
        (
            "POST",
            "Patient/_search?_count=abc".into(),
            Exactly(both.clone()),
        ),
        (
            "POST",
            "Patient/_search?%FF%FE=%C3%28".into(),
            Exactly(both.clone()),
        ),
    ];
    for (method, query, ok) in &cases {
        check(&app, method, query, ok, &pats).await;
    }

    // After all that the database still works: a create, a read and a search.
    let (id, _) = app.create(&patient("Survivor", "HX-9")).await;
    assert_eq!(app.get(&format!("Patient/{id}")).await.status(), 200);
    assert_eq!(ids(&app, "Patient?family=survivor").await, vec![id]);
    assert_eq!(ids(&app, "Patient?family=hostile").await, both);
}
