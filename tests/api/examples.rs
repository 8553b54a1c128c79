//! Every official R4 example of a served type round-trips through create + read:
//! all elements come back equal except the server-owned id and meta fields.

use crate::helpers::*;
use serde_json::Value;

fn strip_server_fields(v: &mut Value) {
    if let Some(o) = v.as_object_mut() {
        o.remove("id");
        if let Some(meta) = o.get_mut("meta").and_then(Value::as_object_mut) {
            meta.remove("versionId");
            meta.remove("lastUpdated");
            if meta.is_empty() {
                o.remove("meta");
            }
        }
    }
}

#[tokio::test]
async fn shared_examples_round_trip() {
    let app = spawn_app().await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/examples/fhir");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    let mut tried = 0;
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let rtype = name.split('-').next().unwrap();
        if ![
            "Patient",
            "Practitioner",
            "Observation",
            "Appointment",
            "MedicationRequest",
        ]
        .contains(&rtype)
        {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let original: Value = serde_json::from_str(&text).unwrap();
        let resp = app
            .client
            .post(app.url(rtype))
            .header("content-type", FHIR_JSON)
            .body(text)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let created: Value = resp.json().await.unwrap();
        assert_eq!(status, 201, "{name}: {created}");
        let id = created["id"].as_str().unwrap();
        let mut read = app.get_value(&format!("{rtype}/{id}")).await;
        let mut expected = original.clone();
        strip_server_fields(&mut read);
        strip_server_fields(&mut expected);
        assert_eq!(read, expected, "{name} did not round-trip");
        // Decimal text is kept exactly (http://hl7.org/fhir/R4/json.html#primitive).
        let raw = app
            .get(&format!("{rtype}/{id}"))
            .await
            .text()
            .await
            .unwrap();
        for token in numbers(&original) {
            assert!(
                raw.contains(&token),
                "{name}: number {token} not kept verbatim"
            );
        }
        tried += 1;
    }
    assert!(tried >= 70, "only {tried} examples found");
}

fn numbers(v: &Value) -> Vec<String> {
    match v {
        Value::Number(n) => vec![n.to_string()],
        Value::Array(a) => a.iter().flat_map(numbers).collect(),
        Value::Object(o) => o.values().flat_map(numbers).collect(),
        _ => vec![],
    }
}
