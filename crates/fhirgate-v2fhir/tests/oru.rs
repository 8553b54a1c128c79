//! ORU^R01 expectations written by hand from the message text.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{by_url, check, map, of_type};
use serde_json::{json, Value};

const UCUM: &str = "http://unitsofmeasure.org";

fn by_code<'a>(obs: &[&'a Value], code: &str) -> &'a Value {
    obs.iter()
        .find(|e| e["resource"]["code"]["coding"][0]["code"] == code)
        .unwrap_or_else(|| panic!("no Observation {code}"))
}

#[test]
fn lab_oru_2_two_orders_of_five_results() {
    let m = map("LAB-ORU-2");
    check("LAB-ORU-2", &m);
    // PID-3 10006579^^^1^MR^1: a conditional create (a result must not overwrite demographics).
    let p = &of_type(&m, "Patient")[0];
    assert_eq!(p["request"]["method"], "POST");
    assert_eq!(
        p["request"]["ifNoneExist"],
        "identifier=urn%3Afhirgate%3Av2%3Aaa%3A1%7C10006579"
    );
    let obs = of_type(&m, "Observation");
    assert_eq!(obs.len(), 12, "2 groups + 10 results");

    // OBX|2|NM|23761-0^NEUTROPHILS/100 LEUKOCYTES^LN||72|%||N|||F|||20141006083000+0700
    let neut = &by_code(&obs, "23761-0")["resource"];
    assert_eq!(neut["code"]["coding"][0]["system"], "http://loinc.org");
    assert_eq!(
        neut["valueQuantity"],
        json!({"value": 72, "unit": "%", "system": UCUM, "code": "%"})
    );
    assert_eq!(neut["status"], "final");
    assert_eq!(neut["effectiveDateTime"], "2014-10-06T08:30:00+07:00");
    assert_eq!(
        neut["interpretation"][0]["coding"][0],
        json!({"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": "N"})
    );
    assert_eq!(neut["subject"]["reference"], p["fullUrl"]);
    assert_eq!(neut["category"][0]["coding"][0]["code"], "laboratory");

    // OBX|1|NM|20509-6^HEMOGLOBIN^LN||13.4|g/l-1: not a UCUM code, unit text only.
    let hb = &by_code(&obs, "20509-6")["resource"];
    assert_eq!(hb["valueQuantity"], json!({"value": 13.4, "unit": "g/l-1"}));

    // OBR|1|855238581|890775544|26464-8^...: grouping Observation keyed by the filler number.
    let group = by_code(&obs, "26464-8");
    assert_eq!(group["request"]["method"], "PUT");
    assert_eq!(
        group["request"]["url"],
        "Observation?identifier=urn%3Afhirgate%3Av2%3Afiller%3ASomeSystem%3A%7C890775544"
    );
    let g = &group["resource"];
    let members = g["hasMember"].as_array().unwrap();
    assert_eq!(members.len(), 5);
    let member_codes: Vec<&Value> = members
        .iter()
        .map(|r| {
            &by_url(&m, r["reference"].as_str().unwrap())["resource"]["code"]["coding"][0]["code"]
        })
        .collect();
    assert_eq!(
        member_codes,
        ["30180-4", "23761-0", "26450-7", "26478-8", "26485-3"]
    );
    // This sample's OBR-25 is empty (its F sits in OBR-26): status stays unknown.
    assert_eq!(g["status"], "unknown");
    // The order is a contained ServiceRequest; OBR-16 ^URO^^^^DR has no id: contained too.
    let sr = g["contained"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["resourceType"] == "ServiceRequest")
        .unwrap();
    assert_eq!(
        g["basedOn"][0]["reference"],
        format!("#{}", sr["id"].as_str().unwrap())
    );
    assert_eq!(sr["intent"], "order");
    assert_eq!(sr["code"]["coding"][0]["code"], "26464-8");
    let req = sr["requester"]["reference"].as_str().unwrap();
    let pr = g["contained"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| format!("#{}", c["id"].as_str().unwrap()) == req)
        .unwrap();
    assert_eq!(pr["name"][0]["family"], "URO");
    // Each result is keyed by order number, code and sub-id.
    let neut_url = by_code(&obs, "23761-0")["request"]["url"].as_str().unwrap();
    assert_eq!(
        neut_url,
        "Observation?identifier=urn%3Afhirgate%3Av2%3Afiller%3ASomeSystem%3A%7C890775544%2F23761-0%2F"
    );
}

#[test]
fn rmgead_structured_numeric_and_text_range() {
    let m = map("ORU-R01-RMGEAD");
    check("ORU-R01-RMGEAD", &m);
    let obs = of_type(&m, "Observation");
    assert_eq!(obs.len(), 2);
    // OBX|1|SN|1554-5^GLUCOSE^POST 12H CFST:MCNC:PT:SER/PLAS:QN||^182|mg/dl|70_105|H|||F
    let g = &by_code(&obs, "1554-5")["resource"];
    assert!(
        g["code"]["coding"][0].get("system").is_none(),
        "the coding system is a text, not a table 0396 code"
    );
    assert_eq!(
        g["valueQuantity"],
        json!({"value": 182, "unit": "mg/dl", "system": UCUM, "code": "mg/dl"})
    );
    assert_eq!(g["referenceRange"], json!([{"text": "70_105"}]));
    assert_eq!(g["interpretation"][0]["coding"][0]["code"], "H");
    assert_eq!(g["status"], "final");
    // No OBX-14: OBR-7 20020215073000+0600.
    assert_eq!(g["effectiveDateTime"], "2002-02-15T07:30:00+06:00");
    // OBR-2 845439^GHH OE, OBR-3 1045813^GHH LAB, OBR-25 F.
    let group = by_code(&obs, "15545");
    assert_eq!(
        group["request"]["url"],
        "Observation?identifier=urn%3Afhirgate%3Av2%3Aaa%3AGHH%2520LAB%7C1045813"
    );
    let gr = &group["resource"];
    assert_eq!(gr["status"], "final");
    let ids = gr["identifier"].as_array().unwrap();
    assert_eq!(ids[0]["value"], "845439");
    assert_eq!(ids[0]["type"]["coding"][0]["code"], "PLAC");
    assert_eq!(ids[1]["value"], "1045813");
    assert_eq!(ids[1]["type"]["coding"][0]["code"], "FILL");
    // OBR-16 555-55-5555^PRIMARY^PATRICIA P: a Practitioner entry, requester of the order.
    let pr = of_type(&m, "Practitioner");
    assert_eq!(pr.len(), 1);
    assert_eq!(pr[0]["resource"]["name"][0]["family"], "PRIMARY");
    let sr = &gr["contained"][0];
    assert_eq!(sr["requester"]["reference"], pr[0]["fullUrl"]);
    // PID-3 555-44-4444 without authority: scoped to GHH LAB / ELAB-3.
    let p = &of_type(&m, "Patient")[0];
    assert_eq!(
        p["request"]["ifNoneExist"],
        "identifier=urn%3Afhirgate%3Av2%3Apatient%3AGHH%2520LAB%3AELAB-3%7C555-44-4444"
    );
    assert_eq!(p["resource"]["name"][0]["family"], "EVERYWOMAN");
    assert_eq!(p["resource"]["birthDate"], "1962-03-20");
}
