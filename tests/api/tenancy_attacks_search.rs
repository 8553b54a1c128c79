//! The cross-tenant attack table of issue #18, over searches: `_include`,
//! `_revinclude`, chains and `_has` from A's data, `$everything`, system and
//! type `_history`, and B's paging links replayed at A. Both clinics hold
//! data that the same queries match (tenancy_attacks_support.rs `populate`), so a
//! search that crossed tenants would find B's resources; every B-only query
//! is also run at B, where it must find them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;

use crate::helpers::next_link;
use crate::search_common::{included, match_ids, sorted};
use crate::tenancy_attacks_support::{
    answer_and_body, assert_no_mention, same_as_control, unknown_id, world, Side, LOINC, MRN_SYSTEM,
};

/// "Type/id" of every entry of a Bundle (match, include, history), sorted.
fn entry_refs(b: &Value) -> Vec<String> {
    sorted(
        b["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["resource"]["resourceType"] != "OperationOutcome")
            .map(|e| {
                let full = e["fullUrl"].as_str().unwrap_or("");
                let mut parts = full.rsplit('/');
                let id = parts.next().unwrap_or("");
                let t = parts.next().unwrap_or("");
                format!("{t}/{id}")
            })
            .collect(),
    )
}

/// 4. `_include`, `_revinclude`, chains and `_has` at A: A's resources only,
///    B's never (nor in the total); the B-only queries do find B's at B.
#[tokio::test]
async fn includes_chains_and_has_from_one_clinic_never_reach_another() {
    let w = world().await;
    let (a, b, da, db) = (&w.a, &w.b, &w.da, &w.db);
    // (query, A's matches, A's includes).
    let at_a: Vec<(String, Vec<&String>, Vec<String>)> = vec![
        (
            "Observation?_include=Observation:subject&_include=Observation:performer".into(),
            vec![&da.obs],
            vec![
                format!("Patient/{}", da.patient),
                format!("Practitioner/{}", da.prac),
            ],
        ),
        (
            "Observation?_include=*".into(),
            vec![&da.obs],
            vec![
                format!("Patient/{}", da.patient),
                format!("Practitioner/{}", da.prac),
            ],
        ),
        (
            "Patient?_revinclude=Observation:subject".into(),
            vec![&da.patient, &da.patient2],
            vec![format!("Observation/{}", da.obs)],
        ),
        (
            "Practitioner?_revinclude=Observation:performer&_include:iterate=Observation:subject"
                .into(),
            vec![&da.prac],
            vec![
                format!("Observation/{}", da.obs),
                format!("Patient/{}", da.patient),
            ],
        ),
        (
            "Observation?patient.family=Shared".into(),
            vec![&da.obs],
            vec![],
        ),
        (
            "Observation?subject:Patient.family=Shared".into(),
            vec![&da.obs],
            vec![],
        ),
        (
            "Observation?performer:Practitioner.family=Doc".into(),
            vec![&da.obs],
            vec![],
        ),
        (
            format!("Observation?code={LOINC}|8480-6"),
            vec![&da.obs],
            vec![],
        ),
        (
            format!("Patient?_has:Observation:subject:code={LOINC}|8480-6"),
            vec![&da.patient],
            vec![],
        ),
        (
            "Patient?_has:Observation:patient:code=8480-6".into(),
            vec![&da.patient],
            vec![],
        ),
        (
            "Practitioner?_has:Observation:performer:code=8480-6".into(),
            vec![&da.prac],
            vec![],
        ),
        ("Patient?family=Shared".into(), vec![&da.patient], vec![]),
    ];
    for (q, matches, includes) in &at_a {
        let got = a.ok(q).await;
        assert_eq!(
            sorted(match_ids(&got)),
            sorted(matches.iter().map(|s| s.to_string()).collect()),
            "{q}: {got}"
        );
        assert_eq!(included(&got), sorted(includes.clone()), "{q}: {got}");
        assert_eq!(got["total"], matches.len(), "{q}: {got}");
        assert_no_mention(&got["entry"], &db.secrets(), q);
    }
    // Queries naming B's data: nothing at A, B's resource at B.
    let b_only = [
        (
            format!(
                "Observation?subject:Patient.identifier={MRN_SYSTEM}|{}",
                db.mrn
            ),
            &db.obs,
        ),
        (
            format!("Observation?subject:Patient.identifier={}", db.mrn),
            &db.obs,
        ),
        (
            format!("Observation?patient.identifier={}", db.mrn),
            &db.obs,
        ),
        (
            format!("Observation?subject=Patient/{}", db.patient),
            &db.obs,
        ),
        (format!("Observation?subject={}", db.patient), &db.obs),
        (format!("Observation?patient={}", db.patient), &db.obs),
        (
            format!("Observation?performer=Practitioner/{}", db.prac),
            &db.obs,
        ),
        (format!("Observation?subject._id={}", db.patient), &db.obs),
        (format!("Observation?_id={}", db.obs), &db.obs),
        (
            format!("Patient?_has:Observation:subject:_id={}", db.obs),
            &db.patient,
        ),
        (format!("Patient?_id={}", db.patient), &db.patient),
        (format!("Patient?identifier={}", db.mrn), &db.patient),
        (
            format!("Patient?identifier={MRN_SYSTEM}|{}", db.mrn2),
            &db.patient2,
        ),
        (format!("Patient?family={}", db.family2), &db.patient2),
        (
            format!("Patient?_id={}&_revinclude=Observation:subject", db.patient),
            &db.patient,
        ),
        (
            format!("Observation?_id={}&_include=Observation:subject", db.obs),
            &db.obs,
        ),
    ];
    for (q, found_at_b) in &b_only {
        // Counts too: `_summary=count`, `_total=accurate`.
        for extra in ["_summary=count", "_total=accurate"] {
            let got = a.ok(&format!("{q}&{extra}")).await;
            assert_eq!(got["total"], 0, "{q}&{extra} at A: {got}");
            let there = b.ok(&format!("{q}&{extra}")).await;
            assert_eq!(there["total"], 1, "{q}&{extra} at B: {there}");
        }
        let got = a.ok(q).await;
        assert_eq!(got["total"], 0, "{q} at A: {got}");
        assert!(
            got["entry"].as_array().is_none_or(|e| e
                .iter()
                .all(|e| e["resource"]["resourceType"] == "OperationOutcome")),
            "{q} at A: {got}"
        );
        assert_no_mention(&got["entry"], &db.secrets(), q);
        let there = b.ok(q).await;
        assert_eq!(
            match_ids(&there),
            vec![found_at_b.to_string()],
            "{q} at B: {there}"
        );
    }
    // The same by POST _search (form body).
    let form = a
        .client
        .post(a.url("Patient/_search"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("identifier={}", db.mrn))
        .send()
        .await
        .unwrap();
    let form: Value = form.json().await.unwrap();
    assert_eq!(form["total"], 0, "{form}");
}

/// 5. `Patient/<B id>/$everything` at A: 404 like an unknown id;
///    `Patient/$everything` at A: A's data only.
#[tokio::test]
async fn everything_at_one_clinic_holds_nothing_of_another() {
    let w = world().await;
    let (a, db) = (&w.a, &w.db);
    let got = same_as_control(
        a,
        reqwest::Method::GET,
        |i| format!("Patient/{i}/$everything"),
        &db.patient,
        &unknown_id(),
        &[],
        |_| None,
    )
    .await;
    assert_eq!(got.status, 404, "{got:?}");
    assert_eq!(
        w.b.get(&format!("Patient/{}/$everything", db.patient))
            .await
            .status(),
        200
    );
    let all = a.ok("Patient/$everything").await;
    assert_eq!(entry_refs(&all), w.da.refs(), "{all}");
    assert_no_mention(&all["entry"], &db.secrets(), "Patient/$everything at A");
    let one = a.ok(&format!("Patient/{}/$everything", w.da.patient)).await;
    assert_no_mention(&one["entry"], &db.secrets(), "$everything of A's patient");
    // Paged by one, every page.
    let mut page = a.ok("Patient/$everything?_count=1").await;
    let mut seen = entry_refs(&page);
    while let Some(next) = link(&page, "next") {
        page = follow(a, &next).await;
        seen.extend(entry_refs(&page));
    }
    assert_eq!(sorted(seen), w.da.refs());
}

/// 11. System and type `_history` at A: A's versions only.
#[tokio::test]
async fn history_at_one_clinic_holds_no_version_of_another() {
    let w = world().await;
    for (q, expect) in [
        ("_history", w.da.refs()),
        (
            "Patient/_history",
            sorted(vec![
                format!("Patient/{}", w.da.patient),
                format!("Patient/{}", w.da.patient2),
            ]),
        ),
        (
            "Observation/_history",
            vec![format!("Observation/{}", w.da.obs)],
        ),
        (
            "Practitioner/_history",
            vec![format!("Practitioner/{}", w.da.prac)],
        ),
    ] {
        let got = w.a.ok(q).await;
        assert_eq!(entry_refs(&got), expect, "{q}: {got}");
        assert_no_mention(&got["entry"], &w.db.secrets(), q);
        // And B's history holds B's.
        let there = w.b.ok(q).await;
        assert_eq!(entry_refs(&there).len(), expect.len(), "{q} at B");
        assert_no_mention(&there["entry"], &w.da.secrets(), q);
    }
    // Paged by one at A: still only A's.
    let mut page = w.a.ok("_history?_count=1").await;
    let mut seen = entry_refs(&page);
    while let Some(next) = link(&page, "next") {
        page = follow(&w.a, &next).await;
        seen.extend(entry_refs(&page));
    }
    assert_eq!(sorted(seen), w.da.refs());
}

fn link(b: &Value, relation: &str) -> Option<String> {
    b["link"]
        .as_array()?
        .iter()
        .find(|l| l["relation"] == relation)
        .and_then(|l| l["url"].as_str())
        .map(str::to_owned)
}

async fn follow(side: &Side, url: &str) -> Value {
    assert!(
        url.starts_with(&side.base),
        "{url} is not under {}",
        side.base
    );
    side.ok(&url[side.base.len()..]).await
}

/// `url`'s path and query after `base`, with `_page` set to `page`.
fn with_page(url: &str, base: &str, page: &str) -> String {
    let rest = &url[base.len()..];
    let (path, query) = rest.split_once('?').unwrap();
    let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
    for (k, v) in pairs.iter_mut() {
        if k == "_page" {
            *v = page.to_owned();
        }
    }
    format!("{path}?{}", serde_urlencoded::to_string(&pairs).unwrap())
}

fn page_of(url: &str) -> String {
    let query = url.split_once('?').unwrap().1;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
    pairs.into_iter().find(|(k, _)| k == "_page").unwrap().1
}

/// 8. B's `next` links (search, `_history`, `$everything`) replayed at A's
///    base with A's token: A's data only, answered as a made-up page token
///    of the same form (another id in it) is; B's links unchanged with A's
///    token: 401.
#[tokio::test]
async fn another_clinics_paging_links_replayed_give_nothing_of_it() {
    let w = world().await;
    let (a, b) = (&w.a, &w.b);
    for q in [
        "Patient?_count=1",
        "Patient?_count=1&_sort=_lastUpdated",
        "_history?_count=1",
        "Patient/$everything?_count=1",
    ] {
        let first = b.ok(q).await;
        let next = next_link(&first);
        assert!(next.starts_with(&b.base), "{next}");
        let token = page_of(&next);
        // The token's made-up twin: B's with every id in it replaced by a
        // new one (ids are found by B's own, which are all UUIDs).
        let decoded = String::from_utf8(URL_SAFE_NO_PAD.decode(&token).unwrap()).unwrap();
        let mut made_up = decoded.clone();
        for id in w.db.secrets().iter().take(4) {
            made_up = made_up.replace(id.as_str(), &unknown_id());
        }
        assert_ne!(made_up, decoded, "{q}: no id of B in {decoded}");
        let made_up = URL_SAFE_NO_PAD.encode(made_up);
        let (real, body) = answer_and_body(a.get(&with_page(&next, &b.base, &token)).await).await;
        let (control, control_body) =
            answer_and_body(a.get(&with_page(&next, &b.base, &made_up)).await).await;
        assert_eq!(
            real, control,
            "{q}: B's page token told apart from a made-up one: {body}"
        );
        assert_eq!(real.status, 200, "{q}: {body}");
        for page in [&body, &control_body] {
            assert_no_mention(&page["entry"], &w.db.secrets(), q);
            for r in entry_refs(page) {
                assert!(w.da.refs().contains(&r), "{q}: {r} is not A's");
            }
        }
        // B's link as it is, with A's token: B's base refuses A's token.
        let resp = a.client.get(&next).send().await.unwrap();
        assert_eq!(resp.status(), 401, "{next}");
        // With B's own: B's next page (sanity).
        let there = b.ok(&next[b.base.len()..]).await;
        assert!(!entry_refs(&there).is_empty(), "{next}: {there}");
    }
    // A token that is no page link at all: refused alike everywhere.
    let garbage = a.get("Patient?_count=1&_page=not-a-page").await;
    assert_eq!(garbage.status(), 400);
    let garbage = b.get("Patient?_count=1&_page=not-a-page").await;
    assert_eq!(garbage.status(), 400);
}
