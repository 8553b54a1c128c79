//! Spec rules of transaction and batch Bundles beyond the basics of bundles.rs:
//! bdl-7 (bundle.html#invariants), resolving references against absolute
//! fullUrls (bundle.html#references) and replacing fullUrls in uri/url elements
//! and the narrative (http.html#trules); conditional reads are in
//! bundles_cread.rs. Expected values are worked out by hand from each test's
//! data and the quoted rule, never from what the server returns.

use crate::bundles::*;
use crate::helpers::*;
use crate::search_common::{ids, NONE};
use serde_json::{json, Value};

const SHARED: &str = "urn:uuid:0b6f3a52-7c1d-4e8f-9a2b-3c4d5e6f7a8b";

fn with_version(mut resource: Value, version: &str) -> Value {
    resource["meta"] = json!({"versionId": version});
    resource
}

// bundle.html, Bundle invariants, bdl-7: "FullUrl must be unique in a bundle,
// or else entries with the same fullUrl must have different meta.versionId
// (except in history bundles)". A transaction or batch breaking it is not a
// valid Bundle, so it is refused whole (400) before any entry is carried out,
// and the OperationOutcome names the rule and both entries.
#[tokio::test]
async fn bdl7_shared_full_url_refuses_the_whole_bundle() {
    let app = spawn_app().await;
    for kind in ["transaction", "batch"] {
        for (v0, v1) in [(None, None), (Some("1"), Some("1"))] {
            let mut a = mrn_patient("Twice", "BDL-1");
            let mut b = mrn_patient("Twice", "BDL-1");
            if let (Some(v0), Some(v1)) = (v0, v1) {
                a = with_version(a, v0);
                b = with_version(b, v1);
            }
            let tx = bundle(
                kind,
                vec![
                    post_entry(SHARED, a),
                    post_entry(
                        "urn:uuid:1c7a4b63-8d2e-4f90-ab3c-4d5e6f7a8b9c",
                        mrn_patient("Other", "BDL-2"),
                    ),
                    post_entry(SHARED, b),
                ],
            );
            let oo = bundle_refused(post_bundle(&app, &tx).await, &[400]).await;
            let text = oo.to_string();
            assert!(text.contains("bdl-7"), "{kind} {v0:?}: {text}");
            assert!(names_entry(&oo, 0, None), "{kind}: {text}");
            assert!(names_entry(&oo, 2, None), "{kind}: {text}");
            for mrn in ["BDL-1", "BDL-2"] {
                let found = ids(&app, &format!("Patient?identifier=urn:mrn|{mrn}")).await;
                assert_eq!(found, NONE, "{kind} {v0:?}: nothing was carried out");
            }
        }
    }
    // Different meta.versionId keeps bdl-7; the server assigns ids and
    // versions itself (http.html#trules), so both are simply created.
    let tx = bundle(
        "transaction",
        vec![
            post_entry(SHARED, with_version(mrn_patient("Twice", "BDL-3"), "1")),
            post_entry(SHARED, with_version(mrn_patient("Twice", "BDL-3"), "2")),
        ],
    );
    let b = answered(&app, &tx, "transaction-response").await;
    written(&app, &b, 0, 201, "Patient", 1);
    written(&app, &b, 1, 201, "Patient", 1);
}

const ROOT: &str = "http://example.org/fhir";

// bundle.html#references, "Resolving references in Bundles": a relative
// reference [type]/[id] in an entry whose fullUrl is a RESTful URL is made
// absolute with that fullUrl's root and then matched against fullUrls; in an
// entry whose fullUrl is not RESTful (urn:uuid) or has none, "no resolution is
// possible". An absolute reference matches a fullUrl directly. http.html#trules:
// references to a POSTed entry become its new id; "References to resources
// that are not part of the bundle are left untouched." A version-specific
// reference is matched without its version and "should remain [a]
// version-specific reference" (the version this transaction writes: 1).
#[tokio::test]
async fn relative_references_resolve_against_restful_full_urls() {
    let app = spawn_app().await;
    // A Patient/x already on this server: what an unresolved `Patient/x` means.
    let put = app
        .put_json("Patient/x", &json!({"resourceType": "Patient", "id": "x"}))
        .await;
    assert_eq!(put.status(), 201);
    let code = |i: usize| format!("abs-{i}");
    let tx = bundle(
        "transaction",
        vec![
            post_entry(
                &format!("{ROOT}/Patient/x"),
                mrn_patient("Absolute", "ABS-0"),
            ),
            post_entry(
                &format!("{ROOT}/Observation/o1"),
                obs_about(&code(1), "Patient/x"),
            ),
            post_entry(
                "urn:uuid:2d8b5c74-9e3f-4a01-bc4d-5e6f7a8b9cad",
                obs_about(&code(2), "Patient/x"),
            ),
            post_entry(
                "http://other.example.org/fhir/Observation/o3",
                obs_about(&code(3), "Patient/x"),
            ),
            json!({"resource": obs_about(&code(4), &format!("{ROOT}/Patient/x")),
                   "request": {"method": "POST", "url": "Observation"}}),
            post_entry(
                &format!("{ROOT}/Observation/o5"),
                obs_about(&code(5), "Patient/x/_history/7"),
            ),
            post_entry(
                &format!("{ROOT}/Observation/o6"),
                obs_about(&code(6), "Patient/y"),
            ),
        ],
    );
    let b = answered(&app, &tx, "transaction-response").await;
    let p = written(&app, &b, 0, 201, "Patient", 1);
    assert_ne!(p, "x");
    let expected = [
        (1, format!("Patient/{p}")),
        (2, "Patient/x".to_owned()),
        (3, "Patient/x".to_owned()),
        (4, format!("Patient/{p}")),
        (5, format!("Patient/{p}/_history/1")),
        (6, "Patient/y".to_owned()),
    ];
    for (i, want) in expected {
        let o = written(&app, &b, i, 201, "Observation", 1);
        let stored = read(&app, &format!("Observation/{o}")).await;
        assert_eq!(stored["subject"]["reference"], want.as_str(), "entry {i}");
    }
}

// http.html#trules: "For updates, the server performs a mapping between the
// fullUrl specified and the local URL the server knows that instance as". A
// conditional PUT with an absolute fullUrl that creates gets a server id;
// references resolving to its fullUrl (bundle.html#references) name that id.
#[tokio::test]
async fn references_to_a_put_full_url_name_the_put_target() {
    let app = spawn_app().await;
    let put = json!({"fullUrl": format!("{ROOT}/Patient/p6"),
                     "resource": mrn_patient("Put", "ABS-6"),
                     "request": {"method": "PUT", "url": "Patient?identifier=urn:mrn|ABS-6"}});
    let tx = bundle(
        "transaction",
        vec![
            post_entry(
                &format!("{ROOT}/Observation/o7"),
                obs_about("abs-7", "Patient/p6"),
            ),
            put,
        ],
    );
    let b = answered(&app, &tx, "transaction-response").await;
    let p = written(&app, &b, 1, 201, "Patient", 1);
    assert_ne!(p, "p6");
    let o = written(&app, &b, 0, 201, "Observation", 1);
    let stored = read(&app, &format!("Observation/{o}")).await;
    assert_eq!(stored["subject"]["reference"], format!("Patient/{p}"));

    // An update of that Patient (now at version 1): a version-specific
    // reference to its entry names the version the update writes, 2.
    let mut again = mrn_patient("Put", "ABS-6");
    again["id"] = json!(p);
    let put = json!({"fullUrl": format!("{ROOT}/Patient/{p}"), "resource": again,
                     "request": {"method": "PUT", "url": format!("Patient/{p}")}});
    let tx = bundle(
        "transaction",
        vec![
            post_entry(
                &format!("{ROOT}/Observation/o8"),
                obs_about("abs-8", &format!("Patient/{p}/_history/1")),
            ),
            put,
        ],
    );
    let b = answered(&app, &tx, "transaction-response").await;
    written(&app, &b, 1, 200, "Patient", 2);
    let o = written(&app, &b, 0, 201, "Observation", 1);
    let stored = read(&app, &format!("Observation/{o}")).await;
    assert_eq!(
        stored["subject"]["reference"],
        format!("Patient/{p}/_history/2")
    );
}

const PAT: &str = "urn:uuid:3e9c6d85-af40-4b12-8d5e-6f7a8b9cadbe";
const DOC: &str = "urn:uuid:4fad7e96-b051-4c23-9e6f-7a8b9cadbecf";
const DOC2: &str = "urn:oid:1.2.36.1.2001.1005.17.9";

// http.html#trules: "Servers SHALL replace all matching links in the bundle,
// whether they are found in the resource ids, resource references, elements of
// type uri, url, oid, uuid, and <a href="" & <img src="" in the narrative.
// Elements of type canonical are not replaced." Replaced links hold the
// absolute URL of the resource the server made (FHIR R5 http.html, which words
// the same rule: "that entire URL would be replaced with the new absolute URL
// of the created Binary resource"); string and markdown elements, other
// attributes, text, and hrefs that are not the whole fullUrl stay as sent.
#[tokio::test]
async fn full_urls_in_uri_url_elements_and_narrative_are_replaced() {
    let app = spawn_app().await;
    let div = format!(
        "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>For <a href=\"{PAT}\">the patient</a> \
         (<a title=\"{PAT}\" href='{PAT}'>again</a>), see {PAT}.</p>\
         <p><img src=\"{DOC}\" alt=\"{PAT}\"/><a href=\"{PAT}#x\">part</a><a name=\"{PAT}\">here</a></p></div>"
    );
    let mr = json!({
        "resourceType": "MedicationRequest",
        "text": {"status": "generated", "div": div},
        "contained": [{"resourceType": "Medication", "id": "med",
                       "code": {"coding": [{"system": DOC2, "code": "m-1"}]}}],
        "extension": [
            {"url": "http://example.org/fhir/StructureDefinition/about", "valueUri": PAT},
            {"url": "http://example.org/fhir/StructureDefinition/where", "valueUrl": DOC},
            {"url": "http://example.org/fhir/StructureDefinition/said", "valueString": PAT}
        ],
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": PAT}],
        "instantiatesCanonical": [DOC],
        "instantiatesUri": [DOC, "urn:uuid:5abe8fa7-c162-4d34-af70-8b9cadbecfd0"],
        "status": "active",
        "intent": "order",
        "medicationReference": {"reference": "#med"},
        "subject": {"reference": PAT},
        "requester": {"reference": DOC},
        "note": [{"text": PAT}]
    });
    let mut patient = mrn_patient("Links", "LNK-1");
    patient["photo"] = json!([{"contentType": "image/png", "url": DOC}]);
    let doc = json!({"resourceType": "Practitioner", "name": [{"family": "Linked"}]});
    let doc2 = json!({"resourceType": "Practitioner", "name": [{"family": "Oid"}]});
    let tx = bundle(
        "transaction",
        vec![
            post_entry("urn:uuid:6bcf9fb8-d273-4e45-b081-9cadbecfd0e1", mr),
            post_entry(PAT, patient),
            post_entry(DOC, doc),
            post_entry(DOC2, doc2),
        ],
    );
    let b = answered(&app, &tx, "transaction-response").await;
    let m = written(&app, &b, 0, 201, "MedicationRequest", 1);
    let p = written(&app, &b, 1, 201, "Patient", 1);
    let d = written(&app, &b, 2, 201, "Practitioner", 1);
    let d2 = written(&app, &b, 3, 201, "Practitioner", 1);
    let (pat_url, doc_url) = (
        format!("{}/Patient/{p}", app.base),
        format!("{}/Practitioner/{d}", app.base),
    );
    let doc2_url = format!("{}/Practitioner/{d2}", app.base);

    let stored = read(&app, &format!("MedicationRequest/{m}")).await;
    assert_eq!(stored["subject"]["reference"], format!("Patient/{p}"));
    assert_eq!(
        stored["requester"]["reference"],
        format!("Practitioner/{d}")
    );
    assert_eq!(stored["extension"][0]["valueUri"], pat_url.as_str());
    assert_eq!(stored["extension"][1]["valueUrl"], doc_url.as_str());
    assert_eq!(stored["extension"][2]["valueString"], PAT, "a string");
    assert_eq!(stored["identifier"][0]["value"], PAT, "a string");
    assert_eq!(stored["instantiatesCanonical"][0], DOC, "a canonical");
    assert_eq!(
        stored["instantiatesUri"],
        json!([doc_url, "urn:uuid:5abe8fa7-c162-4d34-af70-8b9cadbecfd0"])
    );
    assert_eq!(stored["note"][0]["text"], PAT, "markdown");
    assert_eq!(
        stored["contained"][0]["code"]["coding"][0]["system"],
        doc2_url.as_str(),
        "Coding.system is a uri, also in a contained resource"
    );
    let want_div = format!(
        "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>For <a href=\"{pat_url}\">the patient</a> \
         (<a title=\"{PAT}\" href='{pat_url}'>again</a>), see {PAT}.</p>\
         <p><img src=\"{doc_url}\" alt=\"{PAT}\"/><a href=\"{PAT}#x\">part</a><a name=\"{PAT}\">here</a></p></div>"
    );
    assert_eq!(stored["text"]["div"], want_div.as_str());

    let patient = read(&app, &format!("Patient/{p}")).await;
    assert_eq!(
        patient["photo"][0]["url"],
        doc_url.as_str(),
        "Attachment.url is a url"
    );
}

// The same rule for an element of type uuid: its value must stay a
// urn:uuid (datatypes.html#uuid), so it cannot hold the URL the entry's
// resource now has; storing the entry's temporary fullUrl would leave a link
// nothing resolves. The transaction fails instead, naming the entry.
#[tokio::test]
async fn a_full_url_in_a_uuid_element_fails_the_transaction() {
    let app = spawn_app().await;
    const OBS: &str = "urn:uuid:7cd0a0c9-e384-4f56-8192-adbecfd0e1f2";
    let tx = |same_as: &str| {
        let mut obs = obs_about("uuid-1", PAT);
        obs["extension"] = json!([{"url": "http://example.org/fhir/StructureDefinition/same-as",
                                   "valueUuid": same_as}]);
        bundle(
            "transaction",
            vec![
                post_entry(OBS, obs),
                post_entry(PAT, mrn_patient("Uuid", "UUID-1")),
            ],
        )
    };
    let oo = bundle_refused(post_bundle(&app, &tx(PAT)).await, &[400]).await;
    assert!(names_entry(&oo, 0, Some(OBS)), "{oo}");
    assert_eq!(ids(&app, "Patient?identifier=urn:mrn|UUID-1").await, NONE);
    // The same Bundle with a uuid that is no entry's fullUrl is fine.
    let b = answered(&app, &tx(SHARED), "transaction-response").await;
    written(&app, &b, 0, 201, "Observation", 1);
}
