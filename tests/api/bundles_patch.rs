//! PATCH entries in transaction and batch Bundles. From http://hl7.org/fhir/R4/http.html#transaction:
//! for a PATCH the entry's resource is a Binary holding the JSON Patch
//! (contentType application/json-patch+json, data in base64) or a Parameters
//! resource (FHIRPath Patch, fhirpatch.html); http.html#trules processes PUT and
//! PATCH in one step, after DELETE and POST and before GET; ifMatch holds
//! (http.html#concurrency); a result that is not valid R4 fails the transaction,
//! or in a batch that entry, with 422 (http.html#patch). Expected values come
//! from each test's own data.

use base64::Engine;
use serde_json::{json, Value};

use crate::bundles::*;
use crate::helpers::*;

fn binary_patch(ops: &Value) -> Value {
    let data = base64::engine::general_purpose::STANDARD.encode(ops.to_string());
    json!({"resourceType": "Binary", "contentType": "application/json-patch+json", "data": data})
}

fn patch_entry(url: &str, resource: Value, if_match: Option<&str>) -> Value {
    let mut request = json!({"method": "PATCH", "url": url});
    if let Some(m) = if_match {
        request["ifMatch"] = json!(m);
    }
    json!({"resource": resource, "request": request})
}

fn fhirpath_replace(path: &str, value: Value) -> Value {
    json!({"resourceType": "Parameters", "parameter": [{"name": "operation", "part": [
        {"name": "type", "valueCode": "replace"},
        {"name": "path", "valueString": path},
        {"name": "value", "valueCode": value}]}]})
}

#[tokio::test]
async fn transaction_json_patch_and_fhirpath_patch() {
    let app = spawn_app().await;
    let (a, _) = app.create(&mrn_patient("Alpha", "PA-1")).await;
    let (b, _) = app.create(&mrn_patient("Beta", "PB-1")).await;
    let ops = json!([{"op": "replace", "path": "/name/0/family", "value": "Alpha-Patched"},
                     {"op": "add", "path": "/generalPractitioner", "value": [{"reference": "urn:uuid:doc"}]}]);
    let tx = bundle(
        "transaction",
        vec![
            // Listed first, answered last: GET is step 4 and sees the patch.
            get_entry(&format!("Patient/{a}")),
            patch_entry(&format!("Patient/{a}"), binary_patch(&ops), Some("W/\"1\"")),
            patch_entry(
                &format!("Patient/{b}"),
                fhirpath_replace("Patient.gender", json!("male")),
                None,
            ),
            post_entry(
                "urn:uuid:doc",
                json!({"resourceType": "Practitioner", "name": [{"family": "Doc"}]}),
            ),
        ],
    );
    let r = answered(&app, &tx, "transaction-response").await;
    assert_eq!(written(&app, &r, 1, 200, "Patient", 2), a);
    assert_eq!(written(&app, &r, 2, 200, "Patient", 2), b);
    let doc = written(&app, &r, 3, 201, "Practitioner", 1);
    assert_eq!(code(&r, 0), 200);
    let got = &r["entry"][0]["resource"];
    assert_eq!(got["name"][0]["family"], "Alpha-Patched");
    // The patch's reference to a POSTed entry's fullUrl is rewritten (step 2's ids).
    assert_eq!(
        got["generalPractitioner"][0]["reference"],
        format!("Practitioner/{doc}")
    );
    assert_eq!(read(&app, &format!("Patient/{b}")).await["gender"], "male");
    let h = read(&app, &format!("Patient/{a}/_history")).await;
    assert_eq!(h["entry"][0]["request"]["method"], "PATCH");
}

#[tokio::test]
async fn transaction_fails_whole_on_stale_if_match_or_invalid_result() {
    let app = spawn_app().await;
    let (a, _) = app.create(&mrn_patient("Gamma", "PG-1")).await;
    let url = format!("Patient/{a}");
    let stale = bundle(
        "transaction",
        vec![
            post_entry("urn:uuid:o1", obs_about("x1", &url)),
            patch_entry(
                &url,
                fhirpath_replace("Patient.gender", json!("male")),
                Some("W/\"7\""),
            ),
        ],
    );
    let oo = bundle_refused(post_bundle(&app, &stale).await, &[409, 412]).await;
    assert!(names_entry(&oo, 1, None), "{oo}");
    let invalid = bundle(
        "transaction",
        vec![
            post_entry("urn:uuid:o2", obs_about("x2", &url)),
            patch_entry(
                &url,
                binary_patch(
                    &json!([{"op": "replace", "path": "/birthDate", "value": "1970-13-45"}]),
                ),
                None,
            ),
        ],
    );
    bundle_refused(post_bundle(&app, &invalid).await, &[422]).await;
    // Nothing of either Bundle was stored.
    let p = read(&app, &url).await;
    assert_eq!(p["meta"]["versionId"], "1");
    assert!(p.get("birthDate").is_none());
    let obs = read(&app, "Observation?_summary=count").await;
    assert_eq!(obs["total"], 0);
}

#[tokio::test]
async fn batch_patch_entries_answer_on_their_own() {
    let app = spawn_app().await;
    let (a, _) = app.create(&mrn_patient("Delta", "PD-1")).await;
    let url = format!("Patient/{a}");
    let b = bundle(
        "batch",
        vec![
            patch_entry(
                &url,
                binary_patch(
                    &json!([{"op": "replace", "path": "/birthDate", "value": "not a date"}]),
                ),
                None,
            ),
            patch_entry(
                &url,
                binary_patch(&json!([{"op": "remove", "path": "/nosuchelement"}])),
                None,
            ),
            patch_entry(
                &url,
                fhirpath_replace("Patient.gender", json!("other")),
                Some("W/\"1\""),
            ),
            patch_entry(
                &url,
                json!({"resourceType": "Binary", "contentType": "text/plain", "data": "eA=="}),
                None,
            ),
            patch_entry(
                "Patient/does-not-exist",
                fhirpath_replace("Patient.gender", json!("male")),
                None,
            ),
            patch_entry(
                &url,
                fhirpath_replace("Patient.gender", json!("female")),
                Some("W/\"1\""),
            ),
        ],
    );
    let r = answered(&app, &b, "batch-response").await;
    // Invalid result and inapplicable patch: 422 (http.html#patch).
    assert_eq!(code(&r, 0), 422);
    entry_outcome(&r, 0);
    assert_eq!(code(&r, 1), 422);
    written(&app, &r, 2, 200, "Patient", 2);
    assert_eq!(code(&r, 3), 400);
    assert_eq!(code(&r, 4), 404);
    // Entry 2 made version 2, so ifMatch W/"1" is stale (http.html#concurrency).
    assert_eq!(code(&r, 5), 412);
    let p: Value = read(&app, &url).await;
    assert_eq!(p["gender"], "other");
    assert_eq!(p["meta"]["versionId"], "2");
}
