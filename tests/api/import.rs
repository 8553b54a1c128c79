//! `fhirgate import` (issue #4) against real Postgres, straight into the
//! database and over HTTP. Expected counts are computed here from the input
//! files themselves (the shared Synthea patients, and small files written by
//! each test), never from what the importer reports.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use fhirgate::import::{self, ImportArgs, Summary};
use serde_json::Value;

use crate::bundles::read;
use crate::helpers::*;

const SERVED: [&str; 5] = [
    "Patient",
    "Practitioner",
    "Observation",
    "Appointment",
    "MedicationRequest",
];

fn synthea() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/examples/synthea");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "the two shared Synthea patients");
    files
}

/// Entries per resource type in a Bundle file.
fn count_types(path: &Path) -> BTreeMap<String, u64> {
    let b: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let mut m = BTreeMap::new();
    for e in b["entry"].as_array().unwrap() {
        *m.entry(e["resource"]["resourceType"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    m
}

/// The `system|value` of every Practitioner's first identifier in a Bundle file.
fn practitioner_ids(path: &Path) -> BTreeSet<String> {
    let b: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .filter(|r| r["resourceType"] == "Practitioner")
        .map(|r| {
            let i = &r["identifier"][0];
            format!(
                "{}|{}",
                i["system"].as_str().unwrap(),
                i["value"].as_str().unwrap()
            )
        })
        .collect()
}

pub fn args(paths: Vec<PathBuf>, url: Option<String>) -> ImportArgs {
    ImportArgs {
        paths,
        url,
        token: None,
        concurrency: 4,
        ndjson_bundle_size: 2,
        no_identifier_match: false,
        progress: import::ProgressMode::Off,
        progress_every: 5,
        show_paths: false,
    }
}

/// Settings for an import straight into this test's database, with its master key.
pub fn direct(app: &TestApp) -> fhirgate::config::Settings {
    let dir =
        std::env::temp_dir().join(format!("fhirgate-import-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("master.key");
    std::fs::write(&key, &app.master_key_hex).unwrap();
    let mut s = test_settings(&app.db_url);
    s.master_key_file = Some(key);
    s.data_dir = dir;
    s
}

pub async fn run(app: &TestApp, paths: Vec<PathBuf>, http: bool) -> Summary {
    let url = http.then(|| app.base.clone());
    let mut a = args(paths, url);
    a.token = http.then(|| crate::helpers::system_token(&app.authority, "system/*.cruds"));
    import::run(direct(app), a).await.unwrap()
}

pub async fn total(app: &TestApp, query: &str) -> u64 {
    let b = read(
        app,
        &format!(
            "{query}{}_summary=count",
            if query.contains('?') { "&" } else { "?" }
        ),
    )
    .await;
    b["total"].as_u64().unwrap()
}

pub fn n(m: &BTreeMap<String, u64>, k: &str) -> u64 {
    m.get(k).copied().unwrap_or(0)
}

/// Both Synthea patients: every served entry kept, each refused type counted
/// (by the type's name), Practitioners shared by the two stored once.
async fn synthea_keeps_every_served_entry(http: bool) {
    let app = spawn_app().await;
    let files = synthea();
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for f in &files {
        for (t, k) in count_types(f) {
            *want.entry(t).or_default() += k;
        }
    }
    let distinct: BTreeSet<String> = files.iter().flat_map(|f| practitioner_ids(f)).collect();
    let s = run(&app, files.clone(), http).await;
    let mut report = Vec::new();
    s.print(&mut report).unwrap();
    let report = String::from_utf8(report).unwrap();
    assert!(!s.failed_hard(), "{report}");
    assert!(s.errors.is_empty(), "{report}");
    assert_eq!(s.files, 2);
    for (t, k) in &want {
        if SERVED.contains(&t.as_str()) {
            let stored = n(&s.created, t) + n(&s.matched, t);
            assert_eq!(stored, *k, "{t}: {report}");
            continue;
        }
        let refused = s.refused.get(&(t.clone(), "type not served".to_owned()));
        assert_eq!(refused, Some(k), "{t}: {report}");
        assert!(
            report.contains(&format!("{t}: type not served: {k}")),
            "{report}"
        );
    }
    // In the database: every Observation and MedicationRequest, two Patients,
    // and one Practitioner per distinct NPI.
    assert_eq!(
        s.created.get("Practitioner"),
        Some(&(distinct.len() as u64))
    );
    assert_eq!(total(&app, "Observation").await, want["Observation"]);
    assert_eq!(
        total(&app, "MedicationRequest").await,
        want["MedicationRequest"]
    );
    assert_eq!(total(&app, "Patient").await, 2);
    assert_eq!(total(&app, "Practitioner").await, distinct.len() as u64);
    // No PHI in the summary: not the patients' names, not the file names.
    for name in ["Darrell", "Erdman", "Donnell", "Leuschke"] {
        assert!(!report.contains(name), "{report}");
    }
    // A reference to a left-out Encounter: type, identifier, display; no dangling link.
    let obs = read(&app, "Observation?_count=1").await;
    let o = &obs["entry"][0]["resource"];
    assert!(
        o["subject"]["reference"]
            .as_str()
            .unwrap()
            .starts_with("Patient/"),
        "{o}"
    );
    let enc = &o["encounter"];
    assert!(enc.get("reference").is_none(), "{enc}");
    assert_eq!(enc["type"], "Encounter");
    assert!(
        enc["display"].as_str().unwrap().contains("not imported"),
        "{enc}"
    );
    // Every MedicationRequest kept its medication (medication[x] is 1..1).
    let mr = read(&app, "MedicationRequest?_count=100").await;
    for e in mr["entry"].as_array().unwrap() {
        let r = &e["resource"];
        assert!(
            r.get("medicationCodeableConcept").is_some() || r.get("medicationReference").is_some(),
            "{r}"
        );
    }
}

#[tokio::test]
async fn synthea_direct() {
    synthea_keeps_every_served_entry(false).await;
}

#[tokio::test]
async fn synthea_over_http() {
    synthea_keeps_every_served_entry(true).await;
}

/// A second import of the same file: its Patient and Practitioners are found by
/// identifier (ifNoneExist) and not duplicated; Observations and
/// MedicationRequests, which Synthea gives no identifier, are created again.
#[tokio::test]
async fn synthea_reimport() {
    let app = spawn_app().await;
    let file = synthea().into_iter().next().unwrap();
    let want = count_types(&file);
    run(&app, vec![file.clone()], false).await;
    let s = run(&app, vec![file], true).await;
    assert!(!s.failed_hard());
    assert_eq!(n(&s.matched, "Patient"), 1);
    assert_eq!(n(&s.created, "Patient"), 0);
    assert_eq!(n(&s.matched, "Practitioner"), want["Practitioner"]);
    assert_eq!(n(&s.created, "Observation"), want["Observation"]);
    assert_eq!(total(&app, "Patient").await, 1);
    assert_eq!(total(&app, "Practitioner").await, want["Practitioner"]);
    assert_eq!(total(&app, "Observation").await, 2 * want["Observation"]);
    // The new Observations point at the one existing Patient.
    let p = read(&app, "Patient").await;
    let pid = p["entry"][0]["resource"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        total(&app, &format!("Observation?subject=Patient/{pid}")).await,
        2 * want["Observation"]
    );
}
