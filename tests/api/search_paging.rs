//! Issue #3, paging (http://hl7.org/fhir/R4/search.html#count and
//! http.html#paging): _count, next/previous links, and links that stay correct
//! while the data changes between page fetches.

use crate::helpers::*;
use crate::search_common::*;
use serde_json::{json, Value};

async fn dated(app: &TestApp, day: &str) -> String {
    let o = with(
        obs("8867-4"),
        json!({ "effectiveDateTime": format!("2024-02-{day}T12:00:00Z") }),
    );
    app.create(&o).await.0
}

#[tokio::test]
async fn next_and_previous_links_in_sort_order() {
    let app = spawn_app().await;
    let mut expected = Vec::new();
    for day in ["05", "02", "07", "01", "04", "06", "03"] {
        expected.push((day, dated(&app, day).await));
    }
    expected.sort();
    let expected: Vec<String> = expected.into_iter().map(|(_, id)| id).collect();

    // search.html#count: at most _count matches a page; following next to the end
    // gives every match once, in the _sort order; the last page has no next.
    let q = "Observation?_sort=date&_count=3&_total=accurate";
    let pages = all_pages(&app, q).await;
    let sizes: Vec<usize> = pages.iter().map(|p| match_ids(p).len()).collect();
    assert_eq!(sizes, vec![3, 3, 1]);
    assert_eq!(pages[0]["total"], 7);
    let all: Vec<String> = pages.iter().flat_map(match_ids).collect();
    assert_eq!(all, expected);

    // http.html#paging: page 2's previous link leads back to page 1's entries.
    let prev = link(&pages[1], "previous")
        .or_else(|| link(&pages[1], "prev"))
        .expect("a previous link on page 2");
    let back = app.follow(&prev).await;
    assert_eq!(match_ids(&back), match_ids(&pages[0]));
    // The next link of page 2 fetched again gives the same page 3.
    let again = app.follow(&next_link(&pages[1])).await;
    assert_eq!(match_ids(&again), match_ids(&pages[2]));
}

#[tokio::test]
async fn paging_without_sort_covers_everything_once() {
    let app = spawn_app().await;
    let mut made = Vec::new();
    for i in 0..5 {
        made.push(app.create(&patient("Pager", &format!("PG-{i}"))).await.0);
    }
    made.sort();
    // search.html#count: without _sort the order is the server's, but the pages
    // still partition the result.
    let pages = all_pages(&app, "Patient?family=pager&_count=2").await;
    assert_eq!(pages.len(), 3);
    let mut all: Vec<String> = pages.iter().flat_map(match_ids).collect();
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), n, "no duplicates across pages");
    assert_eq!(all, made);
}

#[tokio::test]
async fn links_survive_creates_and_deletes_between_pages() {
    let app = spawn_app().await;
    let mut e = Vec::new();
    for day in ["01", "02", "03", "04", "05", "06", "07", "08"] {
        e.push(dated(&app, day).await);
    }
    let q = "Observation?_sort=date&_count=3";
    let p1 = search(&app, q).await;
    assert_eq!(match_ids(&p1), e[0..3].to_vec());

    // Deleting an entry already seen must not make the next page skip one
    // (an offset-based link would now start at the 5th).
    assert_eq!(
        app.delete(&format!("Observation/{}", e[1])).await.status(),
        204
    );
    let p2 = app.follow(&next_link(&p1)).await;
    assert_eq!(match_ids(&p2), e[3..6].to_vec());

    // A new match sorting before everything seen, and a deleted match not yet
    // seen: the rest of the original set comes once, in order, and nothing that
    // sorts before the pages already read appears after them.
    let early = app
        .create(&with(
            obs("8867-4"),
            json!({"effectiveDateTime": "2024-01-31T12:00:00Z"}),
        ))
        .await
        .0;
    assert_eq!(
        app.delete(&format!("Observation/{}", e[7])).await.status(),
        204
    );
    let mut rest: Vec<Value> = vec![app.follow(&next_link(&p2)).await];
    while let Some(n) = link(rest.last().unwrap(), "next") {
        assert!(rest.len() < 10);
        rest.push(app.follow(&n).await);
    }
    let tail: Vec<String> = rest.iter().flat_map(match_ids).collect();
    assert!(!tail.contains(&early), "{tail:?}");
    assert_eq!(tail.first(), Some(&e[6]), "{tail:?}");
    assert!(tail.len() <= 2 && tail.iter().all(|id| *id == e[6] || *id == e[7]));
    let mut seen: Vec<String> = [match_ids(&p1), match_ids(&p2), tail].concat();
    let n = seen.len();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), n, "no entry repeated");
}
