//! The cross-tenant attack table of issue #18, over writes that name B's
//! data indirectly: transactions and batches at A referencing B's resource by
//! id or by conditional reference, conditional create, update, patch and
//! delete matching B's identifiers (plain and inside Bundles).

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::patient;
use crate::search_common::{included, match_ids};
use crate::tenancy_attacks_support::{
    answer, answer_and_body, answer_masking, assert_no_mention, assert_untouched, masked,
    observation, same_as_control, unknown_id, world, Answer, Side, MRN_SYSTEM,
};

fn bundle(kind: &str, entries: Vec<Value>) -> Value {
    json!({"resourceType": "Bundle", "type": kind, "entry": entries})
}

/// The answer to a Bundle: the HTTP answer, and each entry's status and
/// outcome issue codes and diagnostics, with `masks` (what the Bundle
/// named) replaced by `<target>`.
async fn post_bundle(at: &Side, b: &Value, masks: &[&str]) -> (Answer, Vec<Value>) {
    let resp = at.send(Method::POST, "", &[], Some(b)).await;
    let (a, v) = answer_masking(resp, masks).await;
    let entries = v["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let issues: Vec<Value> = e["response"]["outcome"]["issue"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|i| {
                    json!([
                        i["code"],
                        masked(i["diagnostics"].as_str().unwrap_or(""), masks)
                    ])
                })
                .collect();
            json!({"status": e["response"]["status"], "issues": issues})
        })
        .collect();
    (a, entries)
}

fn post_obs(subject: &str) -> Value {
    json!({"fullUrl": "urn:uuid:8c6ab3e2-3a5e-4c8e-9d61-0d6a4a3c1f11",
           "request": {"method": "POST", "url": "Observation"},
           "resource": observation(subject, None)})
}

/// 3. A transaction (and a batch, and a plain create) at A whose Observation
///    names B's Patient, by id or by a conditional reference on B's MRN:
///    answered as the same naming a patient that exists nowhere; and when
///    such a dangling reference is accepted, nothing links it to B's patient
///    (not `_include` at A, not `_revinclude`, chains or `$everything` at B).
#[tokio::test]
async fn references_to_another_clinics_resources_resolve_to_nothing() {
    let w = world().await;
    let (a, b, db) = (&w.a, &w.b, &w.db);
    let made_up_mrn = format!("MRN-nowhere-{}", unknown_id());
    let b_base = b.base.clone();
    // (what, the reference to a value, B's value, a value nowhere).
    type Make<'a> = Box<dyn Fn(&str) -> String + 'a>;
    let cases: Vec<(&str, Make, String, String)> = vec![
        (
            "by id",
            Box::new(|i| format!("Patient/{i}")),
            db.patient.clone(),
            unknown_id(),
        ),
        (
            "by B's absolute URL",
            Box::new(move |i| format!("{b_base}/Patient/{i}")),
            db.patient.clone(),
            unknown_id(),
        ),
        (
            "by MRN",
            Box::new(|m| format!("Patient?identifier={MRN_SYSTEM}|{m}")),
            db.mrn.clone(),
            made_up_mrn.clone(),
        ),
        (
            "by bare MRN",
            Box::new(|m| format!("Patient?identifier={m}")),
            db.mrn2.clone(),
            made_up_mrn.clone(),
        ),
    ];
    let mut accepted = Vec::new();
    for (what, make, target, control) in &cases {
        for kind in ["transaction", "batch"] {
            let real =
                post_bundle(a, &bundle(kind, vec![post_obs(&make(target))]), &[target]).await;
            let none =
                post_bundle(a, &bundle(kind, vec![post_obs(&make(control))]), &[control]).await;
            assert_eq!(
                real, none,
                "{kind} {what}: {target} told apart from {control}"
            );
        }
        // A plain create (the path is fixed; the body carries the reference).
        let got = same_as_control(
            a,
            Method::POST,
            |_| "Observation".to_owned(),
            target,
            control,
            &[],
            |v| Some(observation(&make(v), None)),
        )
        .await;
        if got.status == 201 {
            accepted.push(make(target));
        }
    }
    // This server accepts a dangling literal reference in a plain create
    // (B's id as an unknown one): so what matters is below, that nothing
    // links the Observation to B's patient.
    assert!(
        accepted.contains(&format!("Patient/{}", db.patient)),
        "{accepted:?}"
    );
    // A conditional reference to B's MRN never resolves: the server answers
    // as for no match (http.html#trules: the transaction fails).
    let by_mrn = format!("Patient?identifier={MRN_SYSTEM}|{}", db.mrn);
    let (tx, _) = post_bundle(a, &bundle("transaction", vec![post_obs(&by_mrn)]), &[]).await;
    assert_ne!(tx.status, 200, "{tx:?}: B's MRN resolved at A");
    // Every Observation A holds now: none leads to B's patient.
    let obs = a
        .ok("Observation?_include=Observation:subject&_count=100")
        .await;
    for p in included(&obs) {
        assert!(
            w.da.refs().contains(&p),
            "{p} is not A's (dangling: {accepted:?})"
        );
    }
    assert_no_mention(&mode_includes(&obs), &db.secrets(), "_include at A");
    let chained = a.ok("Observation?subject:Patient.family=Shared").await;
    assert_eq!(match_ids(&chained), vec![w.da.obs.clone()], "{chained}");
    let got = same_as_control(
        a,
        Method::GET,
        |i| format!("Patient/{i}/$everything"),
        &db.patient,
        &unknown_id(),
        &[],
        |_| None,
    )
    .await;
    assert_eq!(got.status, 404);
    // At B: B's patient is referenced by B's Observation only.
    let there = b
        .ok(&format!(
            "Patient?_id={}&_revinclude=Observation:subject",
            db.patient
        ))
        .await;
    assert_eq!(match_ids(&there), vec![db.patient.clone()], "{there}");
    assert_eq!(
        included(&there),
        vec![format!("Observation/{}", db.obs)],
        "{there}"
    );
    for q in [
        format!("Observation?subject=Patient/{}", db.patient),
        format!("Observation?patient.identifier={}", db.mrn),
    ] {
        let there = b.ok(&q).await;
        assert_eq!(match_ids(&there), vec![db.obs.clone()], "{q}: {there}");
    }
    let there = b.ok(&format!("Patient/{}/$everything", db.patient)).await;
    let mut got: Vec<String> = there["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            format!(
                "{}/{}",
                e["resource"]["resourceType"].as_str().unwrap(),
                e["resource"]["id"].as_str().unwrap()
            )
        })
        .collect();
    got.sort();
    let mut want = vec![
        format!("Observation/{}", db.obs),
        format!("Patient/{}", db.patient),
        format!("Practitioner/{}", db.prac),
    ];
    want.sort();
    assert_eq!(got, want, "{there}");
    assert_untouched(b, &format!("Patient/{}", db.patient), "Shared").await;
}

fn mode_includes(b: &Value) -> Value {
    Value::Array(
        b["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["search"]["mode"] == "include")
            .cloned()
            .collect(),
    )
}

/// 2 and 7 inside Bundles: GET, DELETE, PUT, conditional create and update
///    entries naming B's ids and MRNs, answered as for ones that exist
///    nowhere; B untouched.
#[tokio::test]
async fn bundle_entries_naming_another_clinics_data_act_as_on_nothing() {
    let w = world().await;
    let (a, b, db) = (&w.a, &w.b, &w.db);
    let entries = |id: &str, mrn: &str| {
        let mut put = patient("Intruder", "MRN-X");
        put["id"] = json!(id);
        vec![
            json!({"request": {"method": "GET", "url": format!("Patient/{id}")}}),
            json!({"request": {"method": "GET", "url": format!("Patient?identifier={mrn}")}}),
            json!({"request": {"method": "DELETE", "url": format!("Patient/{id}")}}),
            json!({"request": {"method": "DELETE", "url": format!("Patient?identifier={mrn}")}}),
        ]
        .into_iter()
        .chain([
            json!({"request": {"method": "PUT", "url": format!("Patient/{id}")}, "resource": put}),
        ])
        .collect::<Vec<_>>()
    };
    let (made_up, made_up2) = (unknown_id(), unknown_id());
    let real = post_bundle(
        a,
        &bundle("batch", entries(&db.patient, &db.mrn)),
        &[&db.patient, &db.mrn],
    )
    .await;
    let none = post_bundle(
        a,
        &bundle("batch", entries(&made_up, &made_up2)),
        &[&made_up, &made_up2],
    )
    .await;
    assert_eq!(real, none, "batch");
    assert_eq!(real.1[0]["status"], "404 Not Found", "{real:?}");
    assert_untouched(b, &format!("Patient/{}", db.patient), "Shared").await;
    // A transaction: conditional create and conditional update on B's MRNs.
    let conditional = |mrn: &str, mrn2: &str| {
        bundle(
            "transaction",
            vec![
                json!({"request": {"method": "POST", "url": "Patient",
                        "ifNoneExist": format!("identifier={MRN_SYSTEM}|{mrn}")},
                       "resource": patient("Shared", mrn)}),
                json!({"request": {"method": "PUT",
                        "url": format!("Patient?identifier={MRN_SYSTEM}|{mrn2}")},
                       "resource": patient("Intruder", mrn2)}),
            ],
        )
    };
    let (c1, c2) = (unknown_id(), unknown_id());
    let real = post_bundle(a, &conditional(&db.mrn, &db.mrn2), &[&db.mrn, &db.mrn2]).await;
    let none = post_bundle(a, &conditional(&c1, &c2), &[&c1, &c2]).await;
    assert_eq!(real, none, "conditional entries");
    assert_eq!(real.1[0]["status"], "201 Created", "{real:?}");
    assert_eq!(real.1[1]["status"], "201 Created", "{real:?}");
    assert_untouched(b, &format!("Patient/{}", db.patient), "Shared").await;
    assert_untouched(b, &format!("Patient/{}", db.patient2), &db.family2).await;
    let at_b = b.ok(&format!("Patient?identifier={}", db.mrn)).await;
    assert_eq!(match_ids(&at_b), vec![db.patient.clone()], "{at_b}");
}

/// 7. Conditional create, update, patch and delete at A matching B's MRNs:
///    as for no match (create and update create in A, patch 404s, delete
///    deletes nothing), and B's patients untouched.
#[tokio::test]
async fn conditional_writes_never_match_another_clinics_resources() {
    let w = world().await;
    let (a, b, db) = (&w.a, &w.b, &w.db);
    let query = |m: &str| format!("Patient?identifier={MRN_SYSTEM}|{m}");
    let json_patch = json!([{"op": "replace", "path": "/gender", "value": "male"}]);
    let got = same_as_control(
        a,
        Method::PATCH,
        query,
        &db.mrn,
        &unknown_id(),
        &[("content-type", "application/json-patch+json")],
        |_| Some(json_patch.clone()),
    )
    .await;
    // (Conditional patch is not supported: 405, for B's MRN as for any.)
    assert!([404, 405].contains(&got.status), "{got:?}");
    let got = same_as_control(
        a,
        Method::DELETE,
        query,
        &db.mrn2,
        &unknown_id(),
        &[],
        |_| None,
    )
    .await;
    assert!(got.status < 300 || got.status == 404, "{got:?}");
    assert_untouched(b, &format!("Patient/{}", db.patient), "Shared").await;
    assert_untouched(b, &format!("Patient/{}", db.patient2), &db.family2).await;
    // Conditional create (If-None-Exist) with B's MRN: a new A patient.
    let send = |m: String| async move {
        let cond = format!("identifier={MRN_SYSTEM}|{m}");
        let body = patient("Shared", &m);
        a.send(
            Method::POST,
            "Patient",
            &[("if-none-exist", &cond)],
            Some(&body),
        )
        .await
    };
    let real = send(db.mrn.clone()).await;
    let location = real
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    let real = answer(real).await;
    let none = answer(send(unknown_id()).await).await;
    assert_eq!(real, none, "If-None-Exist on B's MRN");
    assert_eq!((real.status, real.version.as_deref()), (201, Some("1")));
    let created = location.unwrap();
    // If-None-Exist on B's ids: no match either (a new A patient, as for
    // an id that exists nowhere).
    let by_id = |id: String| async move {
        let cond = format!("_id={id}");
        let body = patient("Other", "MRN-other");
        let resp = a
            .send(
                Method::POST,
                "Patient",
                &[("if-none-exist", &cond)],
                Some(&body),
            )
            .await;
        let (got, v) = answer_and_body(resp).await;
        assert_ne!(v["id"].as_str(), Some(id.as_str()), "{v}");
        got
    };
    for id in [&db.patient, &db.obs] {
        let real = by_id(id.clone()).await;
        assert_eq!(real, by_id(unknown_id()).await, "If-None-Exist: _id={id}");
        assert_eq!((real.status, real.version.as_deref()), (201, Some("1")));
    }
    // Conditional update with B's other MRN: no match, so it creates in A.
    let got = same_as_control(a, Method::PUT, query, &db.mrn2, &unknown_id(), &[], |m| {
        Some(patient("Intruder", m))
    })
    .await;
    assert_eq!(
        (got.status, got.version.as_deref()),
        (201, Some("1")),
        "{got:?}"
    );
    assert!(!created.contains(&db.patient), "{created}");
    assert_untouched(b, &format!("Patient/{}", db.patient), "Shared").await;
    assert_untouched(b, &format!("Patient/{}", db.patient2), &db.family2).await;
    for (mrn, id) in [(&db.mrn, &db.patient), (&db.mrn2, &db.patient2)] {
        let at_b = b.ok(&query(mrn)).await;
        assert_eq!(match_ids(&at_b), vec![id.clone()], "{at_b}");
        let at_a = a.ok(&query(mrn)).await;
        assert_eq!(match_ids(&at_a).len(), 1, "{at_a}");
        assert_ne!(match_ids(&at_a), vec![id.clone()], "{at_a}");
    }
}
