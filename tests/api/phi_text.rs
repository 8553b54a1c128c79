//! Free text is PHI (issue #15): no text-bearing element of a served type,
//! whether sent over FHIR or put there by an HL7 v2 message, may be readable
//! in a `pg_dump`. The elements are not listed by hand: every element whose
//! R4 type is `string` or `markdown` (the R4 JSON Schema's definitions,
//! ../shared/fhir-r4/fhir.schema.json) is found by walking each served type,
//! and each gets a resource of its own with a unique marker word in it.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::encryption::{pg_dump, strip_hex_runs, strip_uuids};
use crate::helpers::*;
use crate::hl7_client::*;
use crate::phi_text_gen::*;

/// A marker word no index or code system would hold by chance, letters only
/// (a hex-only marker could turn up inside ciphertext).
fn marker(kind: &str, n: usize) -> String {
    let mut s = format!("qz{kind}");
    let mut k = n;
    for _ in 0..4 {
        s.push((b'g' + (k % 20) as u8) as char);
        k /= 20;
    }
    s
}

fn base_resources(pid: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("Patient", json!({"resourceType": "Patient"})),
        ("Practitioner", json!({"resourceType": "Practitioner"})),
        (
            "Observation",
            json!({"resourceType": "Observation", "status": "final",
                   "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]}}),
        ),
        (
            "Appointment",
            json!({"resourceType": "Appointment", "status": "proposed",
                   "participant": [{"status": "needs-action",
                                    "actor": {"reference": format!("Patient/{pid}")}}]}),
        ),
        (
            "MedicationRequest",
            json!({"resourceType": "MedicationRequest", "status": "active", "intent": "order",
                   "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1049502"}]},
                   "subject": {"reference": format!("Patient/{pid}")}}),
        ),
    ]
}

/// Extensions and contained resources, which the walk leaves out: one of each
/// kind of free text they can carry.
fn extras(rtype: &str, base: &Value, next: &mut dyn FnMut() -> String) -> Vec<Value> {
    let mut out = Vec::new();
    for value in ["valueString", "valueMarkdown"] {
        let mut r = base.clone();
        r["extension"] = json!([{"url": "http://example.org/note", value: next()}]);
        out.push(r);
    }
    let mut r = base.clone();
    r["contained"] = json!([{"resourceType": "Practitioner", "id": "p1",
                             "name": [{"family": next(), "text": next()}]}]);
    let holder = match rtype {
        "Patient" => "generalPractitioner",
        "Observation" => "performer",
        "MedicationRequest" => "requester",
        "Appointment" => "participant",
        _ => "",
    };
    match holder {
        "requester" => r[holder] = json!({"reference": "#p1"}),
        "participant" => r[holder]
            .as_array_mut()
            .unwrap()
            .push(json!({"status": "accepted", "actor": {"reference": "#p1"}})),
        "" => return out,
        _ => r[holder] = json!([{"reference": "#p1"}]),
    }
    out.push(r);
    out
}

#[tokio::test]
async fn no_free_text_of_any_served_element_is_readable_at_rest() {
    let app = spawn_app().await;
    let schema = schema();
    let defs = &schema["definitions"];
    let (pid, _) = app
        .create(&json!({"resourceType": "Patient", "gender": "female"}))
        .await;
    let mut markers: Vec<String> = Vec::new();
    let mut counter = 0;
    for (rtype, base) in base_resources(&pid) {
        let mut paths = Vec::new();
        text_paths(defs, rtype, &mut Vec::new(), &mut paths);
        assert!(
            paths.len() >= 30,
            "{rtype}: only {} text paths",
            paths.len()
        );
        let mut resources = Vec::new();
        let mut next = || {
            counter += 1;
            let m = marker(&rtype[..2].to_lowercase(), counter);
            markers.push(m.clone());
            m
        };
        for p in &paths {
            resources.push((
                p.iter()
                    .map(|s| s.prop.as_str())
                    .collect::<Vec<_>>()
                    .join("."),
                with_text(defs, &base, p, &next()),
            ));
        }
        let mut div = base.clone();
        div["text"] = json!({"status": "generated",
            "div": format!("<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>{}</p></div>", next())});
        resources.push(("text.div".into(), div));
        for (i, r) in extras(rtype, &base, &mut next).into_iter().enumerate() {
            resources.push((format!("extension/contained #{i}"), r));
        }
        // One batch per type: each entry is created (or refused) on its own.
        let entries: Vec<Value> = resources
            .iter()
            .map(|(_, r)| json!({"resource": r, "request": {"method": "POST", "url": rtype}}))
            .collect();
        let resp = app
            .post_json(
                "",
                &json!({"resourceType": "Bundle", "type": "batch", "entry": entries}),
            )
            .await;
        assert_eq!(resp.status(), 200);
        let out: Value = resp.json().await.unwrap();
        let refused: Vec<String> = out["entry"]
            .as_array()
            .unwrap()
            .iter()
            .zip(&resources)
            .filter(|(e, _)| !e["response"]["status"].as_str().unwrap().starts_with("201"))
            .map(|(e, (path, _))| format!("{rtype}.{path}: {}", e["response"]))
            .collect();
        assert!(
            refused.is_empty(),
            "{} refused:\n{}",
            refused.len(),
            refused.join("\n")
        );
    }
    hl7_free_text(&app, &mut markers).await;

    // `:text` still finds what it should, through the blind indexes.
    let found = app
        .get_value("Observation?value-concept:text=Suspected%20ABUSE")
        .await;
    assert_eq!(found["total"], 1, "{found}");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    let dump = pg_dump(&app);
    let text = strip_uuids(&strip_hex_runs(&dump));
    assert!(
        text.contains("\tfemale\t"),
        "the scan sees no plaintext at all"
    );
    let leaked: BTreeSet<&String> = markers
        .iter()
        .filter(|m| text.contains(m.as_str()) || dump.contains(&hex::encode(m.as_bytes())))
        .collect();
    // Where: the table each leaking line belongs to.
    let mut table = "";
    let mut lines = Vec::new();
    for line in text.lines() {
        if let Some(t) = line.strip_prefix("COPY ") {
            table = t.split(' ').next().unwrap_or("");
        } else if leaked.iter().any(|m| line.contains(m.as_str())) {
            lines.push(format!("{table}: {line}"));
        }
    }
    assert!(
        leaked.is_empty(),
        "readable in pg_dump: {leaked:?}\n{}",
        lines.join("\n")
    );
}

/// What HL7 v2 messages put into free text (the v2-to-FHIR maps of
/// crates/fhirgate-v2fhir): each marker is checked to have reached a FHIR
/// resource, so the scan is not vacuous.
async fn hl7_free_text(app: &TestApp, markers: &mut Vec<String>) {
    let hl7: Vec<String> = (0..23).map(|n| marker("hl", n)).collect();
    let m = |i: usize| hl7[i].as_str();
    let messages = [
        msg(&[
            "MSH|^~\\&|LAB|CITY|GW|HOSP|20261201083000||ORU^R01^ORU_R01|TXT-1|P|2.5.1",
            &format!("PID|1||TXT-MRN^^^CITY^MR||{}^{}||19700101|F|||{} St^^Town^ST^12345||^PRN^PH^^^555^1234567|||{}", m(0), m(1), m(2), m(3)),
            &format!("OBR|1|P1^LAB|F1^LAB|24323-8^{}^LN|||20261201073000", m(4)),
            &format!("OBX|1|CWE|5778-6^{}^LN||X1^Suspected abuse by {}^L^^^^^^{}||||||F|||20261201073000|||{}^{}^L|||{}^{}^L", m(5), m(6), m(7), "M1", m(8), "B1", m(9)),
            &format!("OBX|2|NM|2345-7^Glucose^LN||182|{}^{}^L|{} range|H|||F", "U1", m(10), m(11)),
            &format!("OBX|3|ST|8251-1^Note^LN||{} said so||||||F", m(12)),
            &format!("NTE|1||{} comment", m(13)),
        ]),
        msg(&[
            "MSH|^~\\&|SCHED|CLINIC|GW|HOSP|20261201090000||SIU^S12^SIU_S12|TXT-2|P|2.5.1",
            &format!("SCH|A1^SCHED|A1^SCHED|||||R1^{}^L|T1^{}^L||^^30^20261210090000+0000^20261210093000+0000|||||||||||||Booked", m(14), m(15)),
            &format!("NTE|1||{} note", m(16)),
            "PID|1||TXT-MRN2^^^CLINIC^MR||Doe^Jane||19800101|F",
            "RGS|1|A",
            &format!("AIS|1||S1^{}^L|20261210090000+0000|||30|min", m(17)),
            &format!("AIL|1||^^^{}|||20261210090000+0000|||30|min", m(18)),
        ]),
        msg(&[
            "MSH|^~\\&|PHARM|HOSP|GW|HOSP|20261201100000||RDE^O11^RDE_O11|TXT-3|P|2.5.1",
            "PID|1||TXT-MRN3^^^HOSP^MR||Roe^Rick||19600101|M",
            "ORC|NW|O1^PHARM|F3^PHARM||||||20261201100000",
            &format!("RXE|^^^20261201^^R|M1^{}^L^^^^^^{}|1||TAB^tablet^L||^{}", m(19), m(20), m(21)),
            &format!("RXR|PO^{}^L", m(22)),
        ]),
    ];
    let mut c = Mllp::connect(app.mllp_port()).await;
    for message in &messages {
        let ack = c.send(message).await;
        assert_eq!(field(&ack, "MSA", 1), "AA", "{ack}");
    }
    let mut stored = String::new();
    for q in [
        "Patient?identifier=TXT-MRN,TXT-MRN2,TXT-MRN3",
        "Observation?subject:Patient.identifier=TXT-MRN",
        "Appointment?patient:Patient.identifier=TXT-MRN2",
        "MedicationRequest?subject:Patient.identifier=TXT-MRN3",
    ] {
        stored.push_str(&app.get_value(q).await.to_string());
    }
    let missing: Vec<&String> = hl7
        .iter()
        .filter(|m| !stored.contains(m.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "HL7 markers that reached no resource: {missing:?}"
    );
    markers.extend(hl7);
}
