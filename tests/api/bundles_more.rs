//! Transaction and batch Bundles, continued from bundles.rs (whose helpers these
//! tests use): atomicity, batch semantics, unserved types, Bundle types, the
//! entry limit, auditing and the shared examples. Expected values are worked out
//! by hand from each test's own data and the R4 specification, never from what
//! the server returns.

use crate::bundles::*;
use crate::helpers::*;
use crate::search_common::{ids, match_ids, set, NONE};
use serde_json::{json, Value};

// http.html#trules: "servers SHALL either accept all actions ... or reject all
// resources". Whatever entry fails (invalid resource 400/422, unknown type,
// stale ifMatch 412 (http.html#concurrency), double-booked Appointment 422),
// the reply is one OperationOutcome naming the failing entry, and none of the
// other writes (create, update, delete) remains.
#[tokio::test]
async fn failing_entry_rolls_back_the_whole_transaction() {
    let app = spawn_app().await;
    let (victim, _) = app.create(&mrn_patient("Victim", "V-1")).await;
    let (keeper, keeper_body) = app.create(&mrn_patient("Keeper", "K-1")).await;
    let (stale, stale_body) = app.create(&mrn_patient("Stale", "S-1")).await;
    let (booked, _) = app
        .create(&appointment(
            "dr-x",
            "2026-06-01T10:00:00Z",
            "2026-06-01T10:30:00Z",
        ))
        .await;
    const GOOD: &str = "urn:uuid:f08cbd9e-7fac-4bd2-8ce3-9eafb0c1d2e8";
    const BAD: &str = "urn:uuid:019dce0f-80bd-4ce3-9df4-afb0c1d2e3f9";
    const BAD2: &str = "urn:uuid:12aedf10-91ce-4df4-8e05-b0c1d2e3f40a";
    let mut kept = keeper_body.clone();
    kept["gender"] = json!("other");
    let common = vec![
        post_entry(GOOD, mrn_patient("Atomic", "ATOM")),
        delete_entry(&format!("Patient/{victim}")),
        put_entry(kept),
        post_entry(
            "urn:uuid:23bfe021-a2df-4e05-9f16-c1d2e3f4051b",
            obs_about("atom", GOOD),
        ),
    ];
    let mut stale_put = put_entry(stale_body);
    stale_put["request"]["ifMatch"] = json!("W/\"3\"");
    let stale_url = format!("{}/Patient/{stale}", app.base);
    stale_put["fullUrl"] = json!(stale_url);
    let invariant = json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                           "valueString": "a", "dataAbsentReason": {"text": "b"}});
    // (case, bad entries appended at index 4.., allowed statuses, acceptable namings)
    type Case<'a> = (&'a str, Vec<Value>, Vec<u16>, Vec<(usize, Option<&'a str>)>);
    let cases: Vec<Case> = vec![
        (
            "unknown element",
            vec![post_entry(
                BAD,
                json!({"resourceType": "Patient", "colour": "blue"}),
            )],
            vec![400, 422],
            vec![(4, Some(BAD))],
        ),
        (
            "invariant",
            vec![post_entry(BAD, invariant)],
            vec![400, 422],
            vec![(4, Some(BAD))],
        ),
        (
            "unknown type",
            vec![post_entry(BAD, json!({"resourceType": "Foo"}))],
            vec![400, 404],
            vec![(4, Some(BAD))],
        ),
        (
            "stale ifMatch",
            vec![stale_put],
            vec![412],
            vec![(4, Some(stale_url.as_str()))],
        ),
        (
            "double booking",
            vec![post_entry(
                BAD,
                appointment("dr-x", "2026-06-01T10:15:00Z", "2026-06-01T10:45:00Z"),
            )],
            vec![422],
            vec![(4, Some(BAD))],
        ),
        (
            "double booking within the bundle",
            vec![
                post_entry(
                    BAD2,
                    appointment("dr-y", "2026-06-01T11:00:00Z", "2026-06-01T11:30:00Z"),
                ),
                post_entry(
                    BAD,
                    appointment("dr-y", "2026-06-01T11:15:00Z", "2026-06-01T11:45:00Z"),
                ),
            ],
            vec![422],
            vec![(4, Some(BAD2)), (5, Some(BAD))],
        ),
    ];
    for (name, bad, allowed, namings) in cases {
        let mut entries = common.clone();
        entries.extend(bad);
        let resp = post_bundle(&app, &bundle("transaction", entries)).await;
        let oo = bundle_refused(resp, &allowed).await;
        assert!(
            namings.iter().any(|(i, u)| names_entry(&oo, *i, *u)),
            "{name}: {oo}"
        );
        assert_eq!(
            ids(&app, "Patient?identifier=urn:mrn|ATOM").await,
            NONE,
            "{name}"
        );
        assert_eq!(
            ids(&app, "Observation?code=http://example.org/codes|atom").await,
            NONE,
            "{name}"
        );
        assert_eq!(
            read(&app, &format!("Patient/{victim}")).await["meta"]["versionId"],
            "1",
            "{name}"
        );
        let k = read(&app, &format!("Patient/{keeper}")).await;
        assert_eq!(
            (k["meta"]["versionId"].clone(), k["gender"].clone()),
            (json!("1"), json!("female")),
            "{name}"
        );
        assert_eq!(
            read(&app, &format!("Patient/{stale}")).await["meta"]["versionId"],
            "1",
            "{name}"
        );
        assert_eq!(
            ids(&app, "Appointment?date=2026-06-01").await,
            vec![booked.clone()],
            "{name}"
        );
    }
    // The common entries alone are fine: the failures above came from the bad entry.
    let b = answered(&app, &bundle("transaction", common), "transaction-response").await;
    let atom = written(&app, &b, 0, 201, "Patient", 1);
    assert_eq!(
        ids(&app, "Patient?identifier=urn:mrn|ATOM").await,
        vec![atom]
    );
    assert_outcome(app.get(&format!("Patient/{victim}")).await, 410).await;
}

// http.html#trules: "A resource can only appear in a transaction once (by
// identity)" and "If any resource identities ... overlap in steps 1-3, then the
// transaction SHALL fail": two PUTs of one Patient are refused (a 4xx
// OperationOutcome) and neither is applied.
#[tokio::test]
async fn same_resource_written_twice_fails_the_transaction() {
    let app = spawn_app().await;
    let (id, body) = app.create(&mrn_patient("Twice", "T-1")).await;
    let mut first = body.clone();
    first["gender"] = json!("male");
    let mut second = body.clone();
    second["gender"] = json!("other");
    let tx = bundle("transaction", vec![put_entry(first), put_entry(second)]);
    bundle_refused(post_bundle(&app, &tx).await, &[400, 409, 412, 422]).await;
    let now = read(&app, &format!("Patient/{id}")).await;
    assert_eq!(
        (now["meta"]["versionId"].clone(), now["gender"].clone()),
        (json!("1"), json!("female"))
    );
}

// http.html#brules: a batch answers 200 with a batch-response whatever its
// entries do; each entry is processed as its single interaction would be. An
// entry that fails gets its own 4xx status and an OperationOutcome in
// response.outcome (Bundle.entry.response.outcome), and the others are stored.
#[tokio::test]
async fn batch_entries_succeed_or_fail_independently() {
    let app = spawn_app().await;
    let (stale, stale_body) = app.create(&mrn_patient("Stale", "BS-1")).await;
    let (booked, _) = app
        .create(&appointment(
            "dr-z",
            "2026-07-01T09:00:00Z",
            "2026-07-01T09:30:00Z",
        ))
        .await;
    let mut stale_put = put_entry(stale_body);
    stale_put["request"]["ifMatch"] = json!("W/\"2\"");
    let batch = bundle(
        "batch",
        vec![
            post_entry(
                "urn:uuid:34c0f132-b3e0-4f16-8a27-d2e3f405162c",
                mrn_patient("Good", "B-OK"),
            ),
            post_entry(
                "urn:uuid:45d10243-c4f1-4a27-9b38-e3f40516273d",
                json!({"resourceType": "Patient", "colour": "blue"}),
            ),
            get_entry("Patient/no-such-patient"),
            stale_put,
            post_entry(
                "urn:uuid:56e21354-d502-4b38-8c49-f4051627384e",
                appointment("dr-z", "2026-07-01T09:15:00Z", "2026-07-01T09:45:00Z"),
            ),
            post_entry(
                "urn:uuid:67f32465-e613-4c49-9d5a-05162738495f",
                obs_about("b-obs", "Patient/elsewhere"),
            ),
        ],
    );
    let b = answered(&app, &batch, "batch-response").await;
    let ok = written(&app, &b, 0, 201, "Patient", 1);
    assert!([400, 422].contains(&code(&b, 1)), "{}", b["entry"][1]);
    assert_eq!(code(&b, 2), 404, "{}", b["entry"][2]);
    assert_eq!(code(&b, 3), 412, "{}", b["entry"][3]);
    assert_eq!(code(&b, 4), 422, "{}", b["entry"][4]);
    for i in 1..=4 {
        entry_outcome(&b, i);
    }
    let o = written(&app, &b, 5, 201, "Observation", 1);

    assert_eq!(ids(&app, "Patient").await, set(&[&stale, &ok]));
    assert_eq!(
        ids(&app, "Observation?code=http://example.org/codes|b-obs").await,
        vec![o]
    );
    assert_eq!(
        read(&app, &format!("Patient/{stale}")).await["meta"]["versionId"],
        "1"
    );
    assert_eq!(ids(&app, "Appointment?date=2026-07-01").await, vec![booked]);
}

// The gateway serves Patient, Practitioner, Observation, Appointment and
// MedicationRequest (and AuditEvent read-only); http.html: servers choose which
// types they support. An entry of another type is refused as its single
// interaction would be, naming the type: in a transaction that fails the whole
// Bundle (#trules, 400), in a batch only that entry (#brules).
#[tokio::test]
async fn unserved_types_are_refused_by_name() {
    let app = spawn_app().await;
    const U1: &str = "urn:uuid:78a43576-f724-4d5a-8e6b-16273849506a";
    const U2: &str = "urn:uuid:89b54687-0835-4e6b-9f7c-27384950617b";
    let encounter = json!({"resourceType": "Encounter", "status": "planned",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"}});
    let tx = bundle(
        "transaction",
        vec![
            post_entry(U1, mrn_patient("Unserved", "U-TX")),
            post_entry(U2, encounter),
        ],
    );
    let oo = bundle_refused(post_bundle(&app, &tx).await, &[400]).await;
    assert!(oo["issue"].to_string().contains("Encounter"), "{oo}");
    let tx = bundle(
        "transaction",
        vec![
            post_entry(U1, mrn_patient("Unserved", "U-TX")),
            get_entry("Condition?patient=Patient/x"),
        ],
    );
    let oo = bundle_refused(post_bundle(&app, &tx).await, &[400]).await;
    assert!(oo["issue"].to_string().contains("Condition"), "{oo}");
    assert_eq!(ids(&app, "Patient?identifier=urn:mrn|U-TX").await, NONE);

    // AuditEvents are written by the server only: a client's is refused too.
    let audit = json!({"resourceType": "AuditEvent",
        "type": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110100"},
        "recorded": "2020-01-01T00:00:00Z",
        "agent": [{"requestor": true, "who": {"display": "client"}}],
        "source": {"observer": {"display": "client"}}});
    let batch = bundle(
        "batch",
        vec![
            post_entry(
                U1,
                json!({"resourceType": "Condition", "subject": {"reference": "Patient/x"}}),
            ),
            post_entry(U2, mrn_patient("Unserved", "U-B")),
            get_entry("Encounter?patient=Patient/x"),
            post_entry("urn:uuid:9ac65798-1946-4f7c-8a8d-38495061728c", audit),
        ],
    );
    let b = answered(&app, &batch, "batch-response").await;
    let p = written(&app, &b, 1, 201, "Patient", 1);
    for (i, name) in [(0, "Condition"), (2, "Encounter"), (3, "AuditEvent")] {
        assert!((400..500).contains(&code(&b, i)), "{}", b["entry"][i]);
        let oo = entry_outcome(&b, i);
        if name != "AuditEvent" {
            assert!(oo["issue"].to_string().contains(name), "{oo}");
        }
    }
    assert_eq!(ids(&app, "Patient?identifier=urn:mrn|U-B").await, vec![p]);
    assert_eq!(ids(&app, "AuditEvent?date=2020-01-01").await, NONE);
}

// http.html#transaction: POST [base] takes a Bundle of type batch or
// transaction; each entry SHALL carry request, and a resource for PUT/POST.
// Other Bundle types are the server's choice (#other-bundles): the gateway takes
// none (history, which servers SHOULD accept, is not tested either way). Those,
// a body that is no Bundle and malformed entries get 400, and nothing is
// stored. "It is not an error if the submitted bundle has no resources in it."
#[tokio::test]
async fn only_transaction_and_batch_bundles_are_processed() {
    let app = spawn_app().await;
    const K: &str = "urn:uuid:abd768a9-2a57-4a8d-9b9e-495061728399";
    let entry = || post_entry(K, mrn_patient("Kind", "K-1"));
    let mut cases: Vec<(String, Value)> = [
        "collection",
        "document",
        "message",
        "searchset",
        "transaction-response",
        "batch-response",
    ]
    .iter()
    .map(|k| (k.to_string(), bundle(k, vec![entry()])))
    .collect();
    let mut untyped = bundle("transaction", vec![entry()]);
    untyped.as_object_mut().unwrap().remove("type");
    cases.push(("no type".into(), untyped));
    cases.push(("not a Bundle".into(), mrn_patient("Kind", "K-1")));
    let mut no_request = post_entry(
        "urn:uuid:bce879ba-3b68-4b9e-8caf-5a6172839400",
        mrn_patient("Kind", "K-1"),
    );
    no_request.as_object_mut().unwrap().remove("request");
    let no_resource = json!({"request": {"method": "POST", "url": "Patient"}});
    let bad_method = json!({"request": {"method": "FETCH", "url": "Patient"}});
    for (name, e) in [
        ("entry without request", no_request),
        ("POST without resource", no_resource),
        ("unknown method", bad_method),
    ] {
        cases.push((name.into(), bundle("transaction", vec![entry(), e])));
    }
    for (name, body) in cases {
        let resp = post_bundle(&app, &body).await;
        assert_eq!(resp.status().as_u16(), 400, "{name}");
        bundle_refused(resp, &[400]).await;
    }
    assert_eq!(ids(&app, "Patient?identifier=urn:mrn|K-1").await, NONE);

    for (kind, answer) in [
        ("transaction", "transaction-response"),
        ("batch", "batch-response"),
    ] {
        answered(
            &app,
            &json!({"resourceType": "Bundle", "type": kind}),
            answer,
        )
        .await;
    }
}

// A Bundle with more entries than the configured maximum is refused whole with
// 413 Payload Too Large (RFC 9110 §15.5.14) and an OperationOutcome, before any
// entry runs; one at the limit is processed.
#[tokio::test]
async fn too_many_entries_get_413_before_any_work() {
    let app = spawn_app_with(|s| s.max_bundle_entries = 3).await;
    let entries = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| {
                post_entry(
                    &format!("urn:uuid:00000000-0000-4000-8000-00000000000{i}"),
                    mrn_patient("Limit", &format!("L-{i}")),
                )
            })
            .collect()
    };
    for kind in ["transaction", "batch"] {
        bundle_refused(post_bundle(&app, &bundle(kind, entries(4))).await, &[413]).await;
    }
    assert_eq!(ids(&app, "Patient").await, NONE);
    let b = answered(
        &app,
        &bundle("transaction", entries(3)),
        "transaction-response",
    )
    .await;
    let mut created: Vec<String> = (0..3)
        .map(|i| written(&app, &b, i, 201, "Patient", 1))
        .collect();
    created.sort();
    assert_eq!(ids(&app, "Patient").await, created);
}

/// Polls an AuditEvent search until it has a match (audit.rs: AuditEvents of
/// reads come through a batched writer).
async fn audit_found(app: &TestApp, query: &str) -> Value {
    for _ in 0..50 {
        let v = read(app, &format!("AuditEvent?{query}")).await;
        if v["entry"].as_array().is_some_and(|e| !e.is_empty()) {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no AuditEvent for {query}");
}

// Each entry of a Bundle is processed "as if it were an individual interaction"
// (http.html#transaction), so each write is audited like the single one
// (IHE BALP, as in audit.rs): create C, update U, delete D, each findable by the
// patient it concerns, with a success outcome; exactly one create event for the
// new Patient.
#[tokio::test]
async fn bundle_writes_are_audited_per_entry() {
    let app = spawn_app().await;
    let (upd, body) = app.create(&mrn_patient("Audit", "A-1")).await;
    let (del, _) = app.create(&mrn_patient("Audit", "A-2")).await;
    let mut changed = body.clone();
    changed["gender"] = json!("other");
    let tx = bundle(
        "transaction",
        vec![
            post_entry(
                "urn:uuid:cdf98acb-4c79-4caf-9db0-6b7283940051",
                mrn_patient("Audit", "A-3"),
            ),
            put_entry(changed),
            delete_entry(&format!("Patient/{del}")),
        ],
    );
    let b = answered(&app, &tx, "transaction-response").await;
    let new = written(&app, &b, 0, 201, "Patient", 1);
    for (action, id) in [("C", &new), ("U", &upd), ("D", &del)] {
        let v = audit_found(&app, &format!("action={action}&patient=Patient/{id}")).await;
        let e = &v["entry"][0]["resource"];
        assert_eq!(
            (e["action"].clone(), e["outcome"].clone()),
            (json!(action), json!("0")),
            "{e}"
        );
    }
    let v = audit_found(&app, &format!("subtype=create&patient=Patient/{new}")).await;
    assert_eq!(v["entry"].as_array().unwrap().len(), 1, "{v}");
}

// The shared R4 examples whose type is transaction or batch, checked by hand:
// - Bundle-ussg-fht.json, a transaction of 11 PUTs of a Questionnaire and
//   ValueSets, types not served: refused whole (400), naming Questionnaire
//   (its first entry).
// - Bundle-bundle-request-simplesummary.json, a batch of 4 GETs (relative URLs
//   with a leading "/"): Patient/example, Condition?patient=example,
//   MedicationStatement?patient=example and
//   Observation?patient=example&code=http://loinc.org|55284-4&date=ge2015-01-01.
//   Condition and MedicationStatement are not served: 200 batch-response with
//   the read, two 4xx entries naming their type and a searchset.
// No example uses served types only, so none is accepted whole; the set is
// pinned so that new examples get expectations of their own.
#[tokio::test]
async fn shared_example_bundles() {
    let app = spawn_app().await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/examples/fhir");
    let load = |f: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(f)).unwrap()).unwrap()
    };
    let mut found: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("Bundle-"))
        .filter(|n| ["transaction", "batch"].contains(&load(n)["type"].as_str().unwrap_or("")))
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            "Bundle-bundle-request-simplesummary.json",
            "Bundle-ussg-fht.json"
        ]
    );

    let oo = bundle_refused(
        post_bundle(&app, &load("Bundle-ussg-fht.json")).await,
        &[400],
    )
    .await;
    assert!(oo["issue"].to_string().contains("Questionnaire"), "{oo}");

    let mut example = mrn_patient("Chalmers", "12345");
    example["id"] = json!("example");
    assert_eq!(
        app.put_json("Patient/example", &example).await.status(),
        201
    );
    let bp = |subject: &str, system: &str, code: &str, date: &str| {
        json!({"resourceType": "Observation", "status": "final",
               "code": {"coding": [{"system": system, "code": code}]},
               "subject": {"reference": subject}, "effectiveDateTime": date})
    };
    let (hit, _) = app
        .create(&bp(
            "Patient/example",
            "http://loinc.org",
            "55284-4",
            "2016-03-01",
        ))
        .await;
    // Before 2015, another patient, another code, another code system: no match.
    app.create(&bp(
        "Patient/example",
        "http://loinc.org",
        "55284-4",
        "2014-06-30",
    ))
    .await;
    app.create(&bp(
        "Patient/other",
        "http://loinc.org",
        "55284-4",
        "2016-03-01",
    ))
    .await;
    app.create(&bp(
        "Patient/example",
        "http://loinc.org",
        "8867-4",
        "2016-03-01",
    ))
    .await;
    app.create(&bp(
        "Patient/example",
        "http://snomed.info/sct",
        "55284-4",
        "2016-03-01",
    ))
    .await;
    let summary = load("Bundle-bundle-request-simplesummary.json");
    let b = answered(&app, &summary, "batch-response").await;
    assert_eq!(code(&b, 0), 200, "{}", b["entry"][0]);
    assert_eq!(b["entry"][0]["resource"]["resourceType"], "Patient");
    assert_eq!(b["entry"][0]["resource"]["id"], "example");
    for (i, name) in [(1, "Condition"), (2, "MedicationStatement")] {
        assert!((400..500).contains(&code(&b, i)), "{}", b["entry"][i]);
        assert!(
            entry_outcome(&b, i)["issue"].to_string().contains(name),
            "{}",
            b["entry"][i]
        );
    }
    assert_eq!(code(&b, 3), 200, "{}", b["entry"][3]);
    let s = &b["entry"][3]["resource"];
    assert_eq!(s["type"], "searchset", "{s}");
    assert_eq!(match_ids(s), vec![hit]);
}
