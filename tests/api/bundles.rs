//! Transaction and batch Bundles: `POST [base]` (http://hl7.org/fhir/R4/http.html#transaction).
//! Expected values are worked out by hand from each test's own data and the R4
//! specification (http.html#transaction, #brules, #trules, #transaction-response,
//! bundle.html#transaction, bundle.html#references), never from what the server
//! returns. Batch, limits, audit and the shared examples are in bundles_more.rs,
//! which uses the helpers below.

use crate::helpers::*;
use crate::search_common::{ids, match_ids, set, NONE};
use serde_json::{json, Value};

/// `POST [base]`: the Bundle goes to the service base itself, `.../fhir`.
pub async fn post_bundle(app: &TestApp, bundle: &Value) -> reqwest::Response {
    app.client
        .post(&app.base)
        .header("content-type", FHIR_JSON)
        .body(bundle.to_string())
        .send()
        .await
        .unwrap()
}

/// A 200 response Bundle of type `rtype` holding one entry per request entry
/// (http.html#transaction-response).
pub async fn answered(app: &TestApp, bundle: &Value, rtype: &str) -> Value {
    let resp = post_bundle(app, bundle).await;
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    let b: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(b["resourceType"], "Bundle", "{text}");
    assert_eq!(b["type"], rtype, "{text}");
    let n = bundle["entry"].as_array().map_or(0, Vec::len);
    let got = b["entry"].as_array().map_or(0, Vec::len);
    assert_eq!(got, n, "one response entry per request entry: {text}");
    b
}

/// A refused Bundle: a status among `allowed` and a single OperationOutcome
/// (http.html#transaction-response: "for a failed transaction, the server
/// returns a single OperationOutcome instead of a Bundle").
pub async fn bundle_refused(resp: reqwest::Response, allowed: &[u16]) -> Value {
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = resp.text().await.unwrap();
    assert!(
        allowed.contains(&status),
        "status {status}, expected one of {allowed:?}: {text}"
    );
    assert!(ct.starts_with(FHIR_JSON), "content-type {ct}: {text}");
    let oo: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(oo["resourceType"], "OperationOutcome", "{text}");
    assert!(
        oo["issue"].as_array().is_some_and(|i| !i.is_empty()),
        "{text}"
    );
    oo
}

/// The HTTP code of response entry `i`: Bundle.entry.response.status is the
/// 3-digit status code, optionally followed by a space and the reason phrase.
pub fn code(b: &Value, i: usize) -> u16 {
    let s = b["entry"][i]["response"]["status"]
        .as_str()
        .unwrap_or_else(|| panic!("entry {i} has no response.status: {b}"));
    let ok = s.len() >= 3 && (s.len() == 3 || s.as_bytes()[3] == b' ');
    assert!(ok, "entry {i}: status {s:?}");
    s[..3]
        .parse()
        .unwrap_or_else(|_| panic!("entry {i}: status {s:?}"))
}

/// response.location of entry `i`, relative to the base: `Type/id/_history/n`.
pub fn location(app: &TestApp, b: &Value, i: usize) -> String {
    let l = b["entry"][i]["response"]["location"]
        .as_str()
        .unwrap_or_else(|| panic!("entry {i} has no response.location: {b}"));
    l.strip_prefix(&format!("{}/", app.base))
        .unwrap_or(l)
        .to_owned()
}

/// Checks write entry `i` (status code, location `rtype/id/_history/version`,
/// etag `W/"version"`, lastModified) and returns the id.
pub fn written(
    app: &TestApp,
    b: &Value,
    i: usize,
    status: u16,
    rtype: &str,
    version: u32,
) -> String {
    assert_eq!(code(b, i), status, "entry {i}: {}", b["entry"][i]);
    let loc = location(app, b, i);
    let parts: Vec<&str> = loc.split('/').collect();
    let v = version.to_string();
    assert!(
        parts.len() == 4 && parts[0] == rtype && parts[2] == "_history" && parts[3] == v,
        "entry {i}: location {loc}, expected {rtype}/<id>/_history/{v}"
    );
    let r = &b["entry"][i]["response"];
    assert_eq!(r["etag"], format!("W/\"{version}\""), "entry {i}");
    assert!(
        r["lastModified"].as_str().is_some_and(|s| !s.is_empty()),
        "entry {i}: {r}"
    );
    parts[1].to_owned()
}

/// The OperationOutcome of failed batch entry `i` (Bundle.entry.response.outcome).
pub fn entry_outcome(b: &Value, i: usize) -> &Value {
    let oo = &b["entry"][i]["response"]["outcome"];
    assert_eq!(
        oo["resourceType"], "OperationOutcome",
        "entry {i}: {}",
        b["entry"][i]
    );
    oo
}

/// Whether an OperationOutcome names entry `i` by its fullUrl or its 0-based index.
pub fn names_entry(oo: &Value, i: usize, full_url: Option<&str>) -> bool {
    let text = oo["issue"].to_string();
    full_url.is_some_and(|u| text.contains(u))
        || [
            format!("entry[{i}]"),
            format!("entry {i}"),
            format!("entry #{i}"),
        ]
        .iter()
        .any(|s| text.contains(s.as_str()))
}

pub fn bundle(kind: &str, entries: Vec<Value>) -> Value {
    json!({"resourceType": "Bundle", "type": kind, "entry": entries})
}

pub fn post_entry(full_url: &str, resource: Value) -> Value {
    let rtype = resource["resourceType"].as_str().unwrap().to_owned();
    json!({"fullUrl": full_url, "resource": resource, "request": {"method": "POST", "url": rtype}})
}

pub fn put_entry(resource: Value) -> Value {
    let url = format!(
        "{}/{}",
        resource["resourceType"].as_str().unwrap(),
        resource["id"].as_str().unwrap()
    );
    json!({"resource": resource, "request": {"method": "PUT", "url": url}})
}

pub fn get_entry(url: &str) -> Value {
    json!({"request": {"method": "GET", "url": url}})
}

pub fn delete_entry(url: &str) -> Value {
    json!({"request": {"method": "DELETE", "url": url}})
}

/// A Patient with identifier `urn:mrn|{mrn}`.
pub fn mrn_patient(family: &str, mrn: &str) -> Value {
    json!({"resourceType": "Patient", "identifier": [{"system": "urn:mrn", "value": mrn}],
           "name": [{"family": family}], "gender": "female"})
}

/// An Observation with code `http://example.org/codes|{code}` about `subject`.
pub fn obs_about(code: &str, subject: &str) -> Value {
    json!({"resourceType": "Observation", "status": "final",
           "code": {"coding": [{"system": "http://example.org/codes", "code": code}]},
           "subject": {"reference": subject}})
}

/// A booked Appointment holding `practitioner` from `start` to `end`.
pub fn appointment(practitioner: &str, start: &str, end: &str) -> Value {
    json!({"resourceType": "Appointment", "status": "booked", "start": start, "end": end,
           "participant": [
               {"actor": {"reference": format!("Practitioner/{practitioner}")}, "status": "accepted"},
               {"actor": {"reference": "Patient/p1"}, "status": "accepted"}]})
}

/// GETs `path` and expects 200.
pub async fn read(app: &TestApp, path: &str) -> Value {
    let resp = app.get(path).await;
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    assert_eq!(status, 200, "{path}: {text}");
    serde_json::from_str(&text).unwrap()
}

// bundle.html#references, http.html#trules: when the server gives a POSTed
// entry an id, every reference to that entry's fullUrl (urn:uuid or urn:oid)
// in the Bundle becomes Type/newid, wherever it sits (extensions and contained
// resources too); references may point forwards and be circular. Local
// references ("#c1") are left alone. Each created entry answers 201 with
// location Type/id/_history/1, etag W/"1" and lastModified.
#[tokio::test]
async fn transaction_rewrites_urn_references_to_new_ids() {
    let app = spawn_app().await;
    const OBS: &str = "urn:uuid:5f1c8f0e-3a2b-4c6d-8e9f-0a1b2c3d4e5f";
    const PAT: &str = "urn:uuid:9a3c1e52-6f0b-4d7e-8a21-3b5c7d9e0f14";
    const MUM: &str = "urn:uuid:2b4d6f80-1a3c-4e5f-9b7d-0c2e4a6b8d10";
    const DOC: &str = "urn:oid:1.2.36.1.2001.1005.17.8";
    let obs = json!({
        "resourceType": "Observation",
        "contained": [{"resourceType": "Observation", "id": "c1", "status": "final",
                       "code": {"text": "part"}, "subject": {"reference": PAT}}],
        "extension": [{"url": "http://example.org/fhir/StructureDefinition/recorded-for",
                       "valueReference": {"reference": MUM}}],
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": PAT},
        "performer": [{"reference": DOC}],
        "hasMember": [{"reference": "#c1"}]
    });
    let mut baby = mrn_patient("Rewrite", "RW-1");
    baby["link"] = json!([{"other": {"reference": MUM}, "type": "seealso"}]);
    let mut mum = mrn_patient("Rewrite", "RW-2");
    mum["link"] = json!([{"other": {"reference": PAT}, "type": "seealso"}]);
    let doc = json!({"resourceType": "Practitioner", "name": [{"family": "Careful"}]});
    // The Observation comes first: its references point forwards.
    let tx = bundle(
        "transaction",
        vec![
            post_entry(OBS, obs),
            post_entry(PAT, baby),
            post_entry(MUM, mum),
            post_entry(DOC, doc),
        ],
    );
    let b = answered(&app, &tx, "transaction-response").await;
    let o = written(&app, &b, 0, 201, "Observation", 1);
    let p = written(&app, &b, 1, 201, "Patient", 1);
    let m = written(&app, &b, 2, 201, "Patient", 1);
    let d = written(&app, &b, 3, 201, "Practitioner", 1);
    assert_ne!(p, m);

    let stored = read(&app, &format!("Observation/{o}")).await;
    assert_eq!(stored["subject"]["reference"], format!("Patient/{p}"));
    assert_eq!(
        stored["performer"][0]["reference"],
        format!("Practitioner/{d}")
    );
    assert_eq!(
        stored["extension"][0]["valueReference"]["reference"],
        format!("Patient/{m}")
    );
    assert_eq!(
        stored["contained"][0]["subject"]["reference"],
        format!("Patient/{p}")
    );
    assert_eq!(stored["hasMember"][0]["reference"], "#c1");
    // Circular: each Patient links to the other.
    let baby = read(&app, &format!("Patient/{p}")).await;
    assert_eq!(
        baby["link"][0]["other"]["reference"],
        format!("Patient/{m}")
    );
    let mum = read(&app, &format!("Patient/{m}")).await;
    assert_eq!(mum["link"][0]["other"]["reference"], format!("Patient/{p}"));
    for r in [stored, baby, mum] {
        let text = r.to_string();
        for urn in [OBS, PAT, MUM, DOC] {
            assert!(!text.contains(urn), "{urn} left in {text}");
        }
    }
}

// http.html#transaction-response: one response entry per request entry, in
// request order. PUT to an existing id is an update (200, version 2; ifMatch
// with the current version passes, http.html#concurrency); DELETE answers 200
// or 204 (http.html#delete); GET Type/id is a read, and a GET in a transaction
// runs after the writes (#trules step 4), so it sees the update.
#[tokio::test]
async fn transaction_answers_every_method_in_request_order() {
    let app = spawn_app().await;
    let (upd, upd_body) = app.create(&mrn_patient("Update", "M-1")).await;
    let (del, _) = app.create(&mrn_patient("Delete", "M-2")).await;
    let (red, _) = app.create(&mrn_patient("Read", "M-3")).await;
    let mut changed = upd_body.clone();
    changed["gender"] = json!("other");
    let mut put = put_entry(changed);
    put["request"]["ifMatch"] = json!("W/\"1\"");
    let prac = json!({"resourceType": "Practitioner", "name": [{"family": "Posted"}]});
    let tx = bundle(
        "transaction",
        vec![
            get_entry(&format!("Patient/{red}")),
            delete_entry(&format!("Patient/{del}")),
            put,
            post_entry("urn:uuid:0b6e2a8c-7d3f-4e19-a5c2-81f4d0e6b937", prac),
            get_entry(&format!("Patient/{upd}")),
        ],
    );
    let b = answered(&app, &tx, "transaction-response").await;
    assert_eq!(code(&b, 0), 200);
    assert_eq!(b["entry"][0]["resource"]["resourceType"], "Patient");
    assert_eq!(b["entry"][0]["resource"]["id"], red.as_str());
    assert_eq!(b["entry"][0]["resource"]["meta"]["versionId"], "1");
    assert!([200, 204].contains(&code(&b, 1)), "{}", b["entry"][1]);
    assert_eq!(written(&app, &b, 2, 200, "Patient", 2), upd);
    let pr = written(&app, &b, 3, 201, "Practitioner", 1);
    assert_eq!(code(&b, 4), 200);
    assert_eq!(b["entry"][4]["resource"]["id"], upd.as_str());
    assert_eq!(b["entry"][4]["resource"]["gender"], "other");
    assert_eq!(b["entry"][4]["resource"]["meta"]["versionId"], "2");

    assert_outcome(app.get(&format!("Patient/{del}")).await, 410).await;
    let now = read(&app, &format!("Patient/{upd}")).await;
    assert_eq!(
        (now["meta"]["versionId"].clone(), now["gender"].clone()),
        (json!("2"), json!("other"))
    );
    assert_eq!(
        read(&app, &format!("Practitioner/{pr}")).await["name"][0]["family"],
        "Posted"
    );
}

// http.html#trules: whatever the order in the Bundle, DELETEs run first, then
// POSTs, then PUTs, then GETs. Here the conditional create (ifNoneExist, the
// query part only: bundle.html Bundle.entry.request.ifNoneExist) sees 0 matches
// only if the DELETE of `old` ran before it and the PUT of `ord-put` after it
// (1 match -> 200 without creating, 2 -> 412); the search placed first sees
// all the writes: the POSTed and the PUT patient, not the deleted one.
#[tokio::test]
async fn transaction_processes_deletes_creates_updates_then_reads() {
    let app = spawn_app().await;
    let (old, _) = app.create(&mrn_patient("Old", "ORD")).await;
    let mut put = mrn_patient("Put", "ORD");
    put["id"] = json!("ord-put");
    let mut cond = post_entry(
        "urn:uuid:c3d8e0a1-46b2-4f7c-9e15-2a7b9c0d1e83",
        mrn_patient("Posted", "ORD"),
    );
    cond["request"]["ifNoneExist"] = json!("identifier=urn:mrn|ORD");
    let tx = bundle(
        "transaction",
        vec![
            get_entry("Patient?identifier=urn:mrn|ORD"),
            put_entry(put),
            cond,
            delete_entry(&format!("Patient/{old}")),
        ],
    );
    let b = answered(&app, &tx, "transaction-response").await;
    assert_eq!(written(&app, &b, 1, 201, "Patient", 1), "ord-put");
    let new = written(&app, &b, 2, 201, "Patient", 1);
    assert!([200, 204].contains(&code(&b, 3)), "{}", b["entry"][3]);
    assert_eq!(code(&b, 0), 200);
    let found = &b["entry"][0]["resource"];
    assert_eq!(found["type"], "searchset", "{found}");
    let mut got = match_ids(found);
    got.sort();
    let put_id = "ord-put".to_owned();
    assert_eq!(got, set(&[&new, &put_id]));

    assert_eq!(
        ids(&app, "Patient?identifier=urn:mrn|ORD").await,
        set(&[&new, &put_id])
    );
    assert_outcome(app.get(&format!("Patient/{old}")).await, 410).await;
}

// http.html#ccreate in a transaction (Bundle.entry.request.ifNoneExist): no
// match -> created (201); one match -> nothing created, 200, and the entry
// stands for the existing resource, so references to its fullUrl point there
// (http.html#trules); several matches -> 412, and the whole transaction fails.
#[tokio::test]
async fn conditional_create_with_if_none_exist() {
    let app = spawn_app().await;
    let (existing, _) = app.create(&mrn_patient("Existing", "123")).await;
    app.create(&mrn_patient("Twin", "dup")).await;
    app.create(&mrn_patient("Twin", "dup")).await;
    const A: &str = "urn:uuid:7e0a3b1c-9d24-4f5e-8a6b-1c2d3e4f5a60";
    const B: &str = "urn:uuid:8f1b4c2d-0e35-4a6f-9b7c-2d3e4f5a6b71";
    let conditional = |full_url: &str, mrn: &str| {
        let mut e = post_entry(full_url, mrn_patient("Incoming", mrn));
        e["request"]["ifNoneExist"] = json!(format!("identifier=urn:mrn|{mrn}"));
        e
    };
    let tx = bundle(
        "transaction",
        vec![
            conditional(A, "123"),
            conditional(B, "456"),
            post_entry(
                "urn:uuid:9a2c5d3e-1f46-4b7a-8c8d-3e4f5a6b7c82",
                obs_about("cc-1", A),
            ),
            post_entry(
                "urn:uuid:ab3d6e4f-2a57-4c8b-9d9e-4f5a6b7c8d93",
                obs_about("cc-2", B),
            ),
        ],
    );
    let b = answered(&app, &tx, "transaction-response").await;
    assert_eq!(code(&b, 0), 200, "{}", b["entry"][0]);
    assert_eq!(
        location(&app, &b, 0),
        format!("Patient/{existing}/_history/1")
    );
    let created = written(&app, &b, 1, 201, "Patient", 1);
    let o1 = written(&app, &b, 2, 201, "Observation", 1);
    let o2 = written(&app, &b, 3, 201, "Observation", 1);
    let s1 = read(&app, &format!("Observation/{o1}")).await;
    assert_eq!(s1["subject"]["reference"], format!("Patient/{existing}"));
    let s2 = read(&app, &format!("Observation/{o2}")).await;
    assert_eq!(s2["subject"]["reference"], format!("Patient/{created}"));
    // The existing Patient is untouched and not duplicated.
    let p = read(&app, &format!("Patient/{existing}")).await;
    assert_eq!(
        (
            p["meta"]["versionId"].clone(),
            p["name"][0]["family"].clone()
        ),
        (json!("1"), json!("Existing"))
    );
    assert_eq!(
        ids(&app, "Patient?identifier=urn:mrn|123").await,
        vec![existing.clone()]
    );
    assert_eq!(
        ids(&app, "Patient?identifier=urn:mrn|456").await,
        vec![created]
    );

    // Two matches: 412 for the whole transaction; the Observation is not stored.
    let tx = bundle(
        "transaction",
        vec![
            post_entry(
                "urn:uuid:bc4e7f5a-3b68-4d9c-8eaf-5a6b7c8d9ea4",
                obs_about("cc-3", A),
            ),
            conditional(A, "dup"),
        ],
    );
    let oo = bundle_refused(post_bundle(&app, &tx).await, &[412]).await;
    assert!(names_entry(&oo, 1, Some(A)), "{oo}");
    assert_eq!(
        ids(&app, "Observation?code=http://example.org/codes|cc-3").await,
        NONE
    );
    assert_eq!(ids(&app, "Patient?identifier=urn:mrn|dup").await.len(), 2);
}

// http.html#trules, "Conditional References": in a transaction a reference may
// be a search URI `[type]?params`; a single match replaces it with a reference
// to that resource; no match or several matches fail the transaction with an
// error (here 400 or 412, naming the entry), and nothing of it is stored.
#[tokio::test]
async fn conditional_references_resolve_to_one_match_or_fail() {
    let app = spawn_app().await;
    let (p1, _) = app.create(&mrn_patient("Single", "123")).await;
    app.create(&mrn_patient("Twin", "dup")).await;
    app.create(&mrn_patient("Twin", "dup")).await;
    let tx = bundle(
        "transaction",
        vec![post_entry(
            "urn:uuid:cd5f8a6b-4c79-4eaf-9fb0-6b7c8d9eafb5",
            obs_about("cr-1", "Patient?identifier=urn:mrn|123"),
        )],
    );
    let b = answered(&app, &tx, "transaction-response").await;
    let o = written(&app, &b, 0, 201, "Observation", 1);
    let stored = read(&app, &format!("Observation/{o}")).await;
    assert_eq!(stored["subject"]["reference"], format!("Patient/{p1}"));

    const BAD: &str = "urn:uuid:de6a9b7c-5d8a-4fb0-8ac1-7c8d9eafb0c6";
    for search in [
        "Patient?identifier=urn:mrn|nobody",
        "Patient?identifier=urn:mrn|dup",
    ] {
        let tx = bundle(
            "transaction",
            vec![
                post_entry(
                    "urn:uuid:ef7bac8d-6e9b-4ac1-9bd2-8d9eafb0c1d7",
                    obs_about("cr-2", &format!("Patient/{p1}")),
                ),
                post_entry(BAD, obs_about("cr-2", search)),
            ],
        );
        let oo = bundle_refused(post_bundle(&app, &tx).await, &[400, 412]).await;
        assert!(names_entry(&oo, 1, Some(BAD)), "{search}: {oo}");
        assert_eq!(
            ids(&app, "Observation?code=http://example.org/codes|cr-2").await,
            NONE,
            "{search}"
        );
    }
}
