//! Free text is PHI (issue #15): no text-bearing element of a served type,
//! whether sent over FHIR or put there by an HL7 v2 message, may be readable
//! in a `pg_dump`. The elements are not listed by hand: every element whose
//! R4 type is `string` or `markdown` (the R4 JSON Schema's definitions,
//! ../shared/fhir-r4/fhir.schema.json) is found by walking each served type,
//! and each gets a resource of its own with a unique marker word in it.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use crate::encryption::{pg_dump, strip_hex_runs, strip_uuids};
use crate::helpers::*;
use crate::hl7_client::*;

/// How deep the walk goes into complex types (a path through more nested
/// datatypes than this reaches types already reached by a shorter path).
const MAX_DEPTH: usize = 4;
/// The schema pattern of `string` and `markdown` values, as inlined into
/// choice properties (`valueString`, `valueMarkdown`).
const TEXT_PATTERN: &str = "^[ \\r\\n\\t\\S]+$";

fn schema() -> Value {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fhir-r4/fhir.schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// One step of a path: a property, whether it is an array, and the schema
/// definition of its value when complex.
#[derive(Clone, Debug)]
struct Step {
    prop: String,
    array: bool,
    def: Option<String>,
}

fn ref_name(v: &Value) -> Option<String> {
    v.get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/definitions/"))
        .map(str::to_owned)
}

/// (is array, referenced definition, is free text) of a property's schema.
fn kind(prop: &Value) -> (bool, Option<String>, bool) {
    let (array, inner) = match prop.get("items") {
        Some(items) => (true, items),
        None => (false, prop),
    };
    let def = ref_name(inner);
    let text = match def.as_deref() {
        Some("string" | "markdown") => true,
        Some(_) => false,
        None => inner.get("pattern").and_then(Value::as_str) == Some(TEXT_PATTERN),
    };
    (array, def, text)
}

/// Every path from `def` to a `string`/`markdown` element.
fn text_paths(defs: &Value, def: &str, prefix: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    let Some(props) = defs[def]["properties"].as_object() else {
        return;
    };
    for (name, prop) in props {
        // Element ids, extensions (below, on their own), contained resources
        // (below) and the `_x` primitive siblings are not data elements here.
        if name.starts_with('_')
            || matches!(
                name.as_str(),
                "id" | "extension" | "modifierExtension" | "contained" | "resourceType"
            )
            || !fhirgate_validate::is_r4_element(def, name)
        {
            continue;
        }
        let (array, inner, text) = kind(prop);
        if text {
            let mut p = prefix.clone();
            p.push(Step {
                prop: name.clone(),
                array,
                def: None,
            });
            out.push(p);
            continue;
        }
        let Some(inner) = inner else { continue };
        let complex = defs[&inner].get("properties").is_some();
        let visited = prefix
            .iter()
            .any(|s| s.def.as_deref() == Some(inner.as_str()));
        if !complex || visited || prefix.len() >= MAX_DEPTH || inner == "ResourceList" {
            continue;
        }
        prefix.push(Step {
            prop: name.clone(),
            array,
            def: Some(inner.clone()),
        });
        text_paths(defs, &inner, prefix, out);
        prefix.pop();
    }
}

/// A value for a required element that carries no marker.
fn filler(defs: &Value, prop: &Value) -> Value {
    let (array, def, text) = kind(prop);
    let inner = prop.get("items").unwrap_or(prop);
    let one = if let Some(e) = inner.get("enum").and_then(Value::as_array) {
        e[0].clone()
    } else if text {
        json!("filler")
    } else {
        match def.as_deref() {
            Some("code" | "id") => json!("filler"),
            Some("uri" | "url" | "canonical") => json!("http://example.org/filler"),
            Some("date" | "dateTime") => json!("2020-01-01"),
            Some("instant") => json!("2020-01-01T00:00:00Z"),
            Some("boolean") => json!(true),
            Some("decimal" | "integer" | "positiveInt" | "unsignedInt") => json!(1),
            Some("xhtml") => json!("<div xmlns=\"http://www.w3.org/1999/xhtml\">filler</div>"),
            Some(d) => complex_filler(defs, d),
            None => match inner.get("type").and_then(Value::as_str) {
                Some("boolean") => json!(true),
                Some("number") => json!(1),
                _ => json!("filler"),
            },
        }
    };
    if array {
        json!([one])
    } else {
        one
    }
}

/// A minimal valid value of a complex type: its required elements filled, or
/// one harmless element when it requires none (an empty object is not valid R4).
fn complex_filler(defs: &Value, def: &str) -> Value {
    match def {
        "CodeableConcept" => {
            return json!({"coding": [{"system": "http://example.org/filler", "code": "filler"}]})
        }
        "Coding" => return json!({"system": "http://example.org/filler", "code": "filler"}),
        "Reference" => return json!({"display": "filler"}),
        "Period" => return json!({"start": "2020-01-01"}),
        "Quantity" | "Duration" | "Age" | "Count" | "Distance" | "SimpleQuantity" | "Money" => {
            return json!({"value": 1})
        }
        _ => {}
    }
    let mut obj = Map::new();
    fill_required(defs, def, &mut obj, None);
    if obj.is_empty() {
        obj.insert(
            "extension".into(),
            json!([{"url": "http://example.org/filler", "valueBoolean": true}]),
        );
    }
    Value::Object(obj)
}

/// Adds every element `def` requires that `obj` lacks.
/// `coming` is the element the caller is about to add (it counts as present).
fn fill_required(defs: &Value, def: &str, obj: &mut Map<String, Value>, coming: Option<&str>) {
    let props = &defs[def]["properties"];
    let mut names: Vec<String> = defs[def]["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|n| *n != "resourceType")
        .map(str::to_owned)
        .collect();
    let (primitives, choices) = fhirgate_validate::required_elements(def);
    names.extend(primitives.iter().map(|s| s.to_string()));
    for (_, alternatives) in choices {
        if !alternatives
            .iter()
            .any(|a| obj.contains_key(*a) || coming == Some(*a))
        {
            names.push(alternatives[0].to_string());
        }
    }
    for n in names {
        if !obj.contains_key(&n) && coming != Some(n.as_str()) {
            obj.insert(n.clone(), filler(defs, &props[&n]));
        }
    }
    // Invariants a lone element would break (patient.html pat-1: a contact has
    // details or an organization).
    if def == "Patient_Contact" {
        obj.insert("organization".into(), json!({"display": "filler"}));
    }
    // datatypes.html cpt-2: a ContactPoint with a value has a system.
    if def == "ContactPoint" {
        obj.insert("system".into(), json!("other"));
    }
    // datatypes.html rat-1: a Ratio has both numerator and denominator.
    if def == "Ratio" {
        for part in ["numerator", "denominator"] {
            if coming != Some(part) {
                obj.insert(part.into(), json!({"value": 1}));
            }
        }
    }
    // observation.html obs-3: a reference range has a low, a high or a text.
    if def == "Observation_ReferenceRange" && coming != Some("low") {
        obj.insert("low".into(), json!({"value": 1}));
    }
}

/// `base` with `marker` at the end of `path`, every object on the way made
/// valid (required elements filled).
fn with_text(defs: &Value, base: &Value, path: &[Step], marker: &str) -> Value {
    let mut out = base.clone();
    // json.html#choice: one type per choice element; the base MedicationRequest
    // names its medication by a CodeableConcept.
    if path
        .first()
        .is_some_and(|s| s.prop == "medicationReference")
    {
        if let Some(o) = out.as_object_mut() {
            o.remove("medicationCodeableConcept");
        }
    }
    let mut node = &mut out;
    for (i, step) in path.iter().enumerate() {
        let last = i + 1 == path.len();
        let obj = node.as_object_mut().unwrap();
        let value = if last {
            json!(marker)
        } else {
            Value::Object(Map::new())
        };
        let slot = if step.array {
            let arr = obj.entry(step.prop.clone()).or_insert_with(|| json!([]));
            let arr = arr.as_array_mut().unwrap();
            if arr.is_empty() || last {
                arr.insert(0, value);
            }
            &mut arr[0]
        } else {
            obj.insert(step.prop.clone(), value);
            obj.get_mut(&step.prop).unwrap()
        };
        if let (false, Some(d)) = (last, &step.def) {
            let coming = path.get(i + 1).map(|s| s.prop.as_str());
            fill_required(defs, d, slot.as_object_mut().unwrap(), coming);
        }
        node = slot;
    }
    // appointment.html app-4: a cancelation reason only on a cancelled (or
    // no-show) appointment.
    if out.get("cancelationReason").is_some() {
        out["status"] = json!("cancelled");
    }
    out
}

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
