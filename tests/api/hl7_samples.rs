//! Every shared HL7 v2 sample of the families the gateway maps (issue #5) is
//! accepted end to end, and what it carries can be found over the FHIR API.
//! The expected values below were read off the message text by hand.

use std::time::Duration;

use diesel::RunQueryDsl;
use serde_json::Value;

use crate::helpers::*;
use crate::hl7_client::*;

const FAMILIES: &[&str] = &[
    "ADT-A01-01.hl7",
    "ADT01-23.hl7",
    "ADT-A04-01.hl7",
    "ADT04-23.hl7",
    "ADT04-28.hl7",
    "ADT-A05-01.hl7",
    "ADT-A08-01.hl7",
    "ADT-A28-01.hl7",
    "ADT-A31-01.hl7",
    "ADT-A40-01.hl7",
    "LAB-ORU-2.hl7",
    "ORU-R01-RMGEAD.hl7",
    "SIU-S12-01.hl7",
    "SIU-S12_1.hl7",
    "SIU-S13-02.hl7",
    "SIU-S14-02.hl7",
    "SIU-S15-02.hl7",
    "SIU-S17-02.hl7",
    "SIU-S26-02.hl7",
    "RDE-O11-01.hl7",
];

fn stored_code(app: &TestApp, control: &str) -> Option<String> {
    #[derive(diesel::QueryableByName)]
    struct C {
        #[diesel(sql_type = diesel::sql_types::Text)]
        ack_code: String,
    }
    diesel::sql_query("SELECT ack_code FROM hl7_messages WHERE control_id = $1")
        .bind::<diesel::sql_types::Text, _>(control)
        .get_result::<C>(&mut app.conn())
        .ok()
        .map(|c| c.ack_code)
}

/// Sends a sample; returns its outcome code: MSA-1 of the ACK, or, for a
/// message whose MSH-15/MSH-16 ask for no acknowledgement at all (NE, 2.9.3),
/// the outcome it was stored with.
pub async fn deliver(app: &TestApp, text: &str) -> String {
    let first = text
        .trim_start_matches('\u{feff}')
        .split(['\r', '\n'])
        .next()
        .unwrap();
    let msh: Vec<&str> = first.split('|').collect();
    let control = msh.get(9).copied().unwrap_or("");
    let quiet = msh.get(14) == Some(&"NE") && msh.get(15) == Some(&"NE");
    let mut c = Mllp::connect(app.mllp_port()).await;
    c.write_raw(&frame(text)).await;
    if !quiet {
        let ack = c.read_frame().await;
        assert_eq!(field(&ack, "MSA", 2), control, "{ack}");
        if field(&ack, "MSA", 1) != "AA" {
            return format!("{}: {ack}", field(&ack, "MSA", 1));
        }
        return "AA".into();
    }
    for _ in 0..100 {
        if let Some(code) = stored_code(app, control) {
            return code;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    "nothing stored".into()
}

#[tokio::test]
async fn every_sample_of_the_mapped_families_is_accepted() {
    // One database per sample: several samples book the same practitioner at the
    // same time, which is a double booking when they share a store.
    for name in FAMILIES {
        let app = spawn_app().await;
        let outcome = deliver(&app, &sample(name)).await;
        assert_eq!(outcome, "AA", "{name}");
    }
}

#[tokio::test]
async fn lab_results_carry_the_values_of_their_obx_segments() {
    let app = spawn_app().await;
    assert_eq!(deliver(&app, &sample("LAB-ORU-2.hl7")).await, "AA");
    // PID|1||10006579^^^1^MR^1||DUCK^DONALD^D||19241010|M
    let p = matches(&app, "Patient?identifier=10006579").await;
    assert_eq!(p.len(), 1);
    assert_eq!(p[0]["name"][0]["family"], "DUCK");
    assert_eq!(p[0]["name"][0]["given"][0], "DONALD");
    assert_eq!(p[0]["birthDate"], "1924-10-10");
    assert_eq!(p[0]["gender"], "male");
    // OBX|1|NM|20509-6^HEMOGLOBIN^LN||13.4|g/l-1||N|||F|||20141006083000+0700
    let hb = matches(&app, "Observation?code=http://loinc.org|20509-6").await;
    assert_eq!(hb.len(), 1);
    assert_eq!(hb[0]["valueQuantity"]["value"].to_string(), "13.4");
    assert_eq!(hb[0]["status"], "final");
    assert_eq!(hb[0]["effectiveDateTime"], "2014-10-06T08:30:00+07:00");
    // Ten OBX segments under two OBRs: ten results, all for that patient.
    let pid = p[0]["id"].as_str().unwrap();
    let all = matches(
        &app,
        &format!("Observation?subject=Patient/{pid}&_count=50"),
    )
    .await;
    let has_value = |o: &&Value| {
        o.as_object()
            .unwrap()
            .keys()
            .any(|k| k.starts_with("value"))
    };
    assert_eq!(all.iter().filter(has_value).count(), 10, "{all:?}");
}

#[tokio::test]
async fn a40_links_the_merged_patient_to_the_survivor() {
    let app = spawn_app().await;
    assert_eq!(deliver(&app, &sample("ADT-A40-01.hl7")).await, "AA");
    // PID-3 12345 survives; MRG-1 56789 is merged into it.
    let survivor = matches(&app, "Patient?identifier=12345").await;
    let merged = matches(&app, "Patient?identifier=56789").await;
    assert_eq!((survivor.len(), merged.len()), (1, 1));
    let (sid, mid) = (
        survivor[0]["id"].as_str().unwrap(),
        merged[0]["id"].as_str().unwrap(),
    );
    let link = |p: &Value| {
        (
            p["link"][0]["type"].clone(),
            p["link"][0]["other"]["reference"].clone(),
        )
    };
    assert_eq!(
        link(&survivor[0]),
        ("replaces".into(), format!("Patient/{mid}").into())
    );
    assert_eq!(
        link(&merged[0]),
        ("replaced-by".into(), format!("Patient/{sid}").into())
    );
}

#[tokio::test]
async fn a_pharmacy_order_becomes_a_medication_request() {
    let app = spawn_app().await;
    assert_eq!(deliver(&app, &sample("RDE-O11-01.hl7")).await, "AA");
    // RXE-2 0143963401^...^NDC; ORC-1 NW (new order); ORC-9 20191104062726+0215.
    let mr = matches(&app, "MedicationRequest?code=0143963401").await;
    assert_eq!(mr.len(), 1, "{mr:?}");
    assert_eq!(mr[0]["intent"], "order");
    assert_eq!(mr[0]["authoredOn"], "2019-11-04T06:27:26+02:15");
    // RXE-12 "Number of refills" and RXE-10/11 dispense amount and units are in the text.
    assert!(mr[0]["subject"]["reference"]
        .as_str()
        .unwrap()
        .starts_with("Patient/"));
}

/// Replaying the stored messages changes no resource count (every resource is
/// keyed by identifier and conditionally updated).
#[tokio::test]
async fn replay_is_idempotent() {
    let app = spawn_app().await;
    assert_eq!(deliver(&app, &sample("LAB-ORU-2.hl7")).await, "AA");
    assert_eq!(deliver(&app, &sample("ADT-A01-01.hl7")).await, "AA");
    let before: Vec<usize> = resource_counts(&app).await;
    let ingest = app.ingestor();
    let summary = tokio::task::spawn_blocking(move || {
        fhirgate::hl7::replay::run(
            &ingest,
            &fhirgate::hl7::replay::ReplayArgs {
                include_errors: false,
                batch: 1,
                unrouted: Vec::new(),
            },
        )
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!((summary.applied, summary.failed), (2, 0));
    assert_eq!(resource_counts(&app).await, before);
}

async fn resource_counts(app: &TestApp) -> Vec<usize> {
    let mut out = Vec::new();
    for t in [
        "Patient",
        "Practitioner",
        "Observation",
        "Appointment",
        "MedicationRequest",
    ] {
        let b = app.get_value(&format!("{t}?_summary=count")).await;
        out.push(b["total"].as_u64().unwrap() as usize);
    }
    out
}
