//! ADT expectations written by hand from the message text (see the comments
//! quoting the segments), never from the translator's output.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{by_url, check, map, of_type};
use fhirgate_v2fhir::Merge;
use serde_json::{json, Value};

const US_SSN: &str = "http://hl7.org/fhir/sid/us-ssn";

#[test]
fn a01_patient_demographics() {
    let m = map("ADT-A01-01");
    check("ADT-A01-01", &m);
    let patients = of_type(&m, "Patient");
    assert_eq!(patients.len(), 1);
    let e = patients[0];
    // PID-3 first repetition: PATID1234^5^M11^test1&2.16.1&HCD^MR -> the key.
    assert_eq!(e["request"]["method"], "PUT");
    assert_eq!(
        e["request"]["url"],
        "Patient?identifier=urn%3Aoid%3A2.16.1%7CPATID1234"
    );
    let p = &e["resource"];
    let ids = p["identifier"].as_array().unwrap();
    assert!(ids.iter().any(|i| i["system"] == "urn:oid:2.16.1"
        && i["value"] == "PATID1234"
        && i["type"]["coding"][0]["code"] == "MR"));
    // PID-3 second repetition 123456789^^^USSSA^SS and PID-19 PSSN123121234.
    assert!(ids
        .iter()
        .any(|i| i["system"] == US_SSN && i["value"] == "123456789"));
    assert!(ids
        .iter()
        .any(|i| i["system"] == US_SSN && i["value"] == "PSSN123121234"));
    // PID-5: EVERYMAN&&&&Aniston^ADAM^A^III^Dr.^MD^D^^^19241012^^^^PF
    let n0 = &p["name"][0];
    assert_eq!(n0["family"], "EVERYMAN");
    assert_eq!(n0["given"], json!(["ADAM", "A"]));
    assert_eq!(n0["prefix"], json!(["Dr."]));
    assert_eq!(n0["suffix"], json!(["III", "MD", "PF"]));
    assert_eq!(n0["use"], "usual");
    assert_eq!(n0["period"]["start"], "1924-10-12");
    // ~Josh&&&&Bing^^stanley^^^^L^^^^^19241010^19241015
    let n1 = &p["name"][1];
    assert_eq!(n1["family"], "Josh");
    assert_eq!(n1["given"], json!(["stanley"]));
    assert_eq!(n1["use"], "official");
    assert_eq!(
        n1["period"],
        json!({"start": "1924-10-10", "end": "1924-10-15"})
    );
    // PID-6 SMITH^Angela^L
    assert_eq!(p["extension"][0]["valueString"], "SMITH");
    // PID-7 198808181126+0215, PID-8 M
    assert_eq!(p["birthDate"], "1988-08-18");
    assert_eq!(
        p["_birthDate"]["extension"][0],
        json!({"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
               "valueDateTime": "1988-08-18T11:26:00+02:15"})
    );
    assert_eq!(p["gender"], "male");
    // PID-11 1000&Hospital Lane^Ste. 123^Ann Arbor ^MI^99999^USA^M^^&W^^^20000110&20000120
    let a = &p["address"][0];
    assert_eq!(a["line"], json!(["1000", "Ste. 123"]));
    assert_eq!(a["city"], "Ann Arbor");
    assert_eq!(a["state"], "MI");
    assert_eq!(a["postalCode"], "99999");
    assert_eq!(a["country"], "USA");
    assert_eq!(a["type"], "postal");
    assert_eq!(
        a["period"],
        json!({"start": "2000-01-10", "end": "2000-01-20"})
    );
    // PID-13 78788788^^CP^5555^^^1111^^^^^2222^20010110^20020110^^^^18: XTN-12 wins, CP is mobile.
    let t0 = &p["telecom"][0];
    assert_eq!(t0["system"], "phone");
    assert_eq!(t0["value"], "2222");
    assert_eq!(t0["use"], "mobile");
    assert_eq!(t0["rank"], 18);
    // PID-14 second repetition 1111^^TDD: business number, TDD equipment.
    assert_eq!(
        p["telecom"][3],
        json!({"system": "other", "value": "1111", "use": "work"})
    );
    // PID-15 ara^^HL70296^eng^English-us^HL70296
    assert_eq!(
        p["communication"][0]["language"]["coding"][0]["code"],
        "ara"
    );
    // PID-16 M^Married
    assert_eq!(
        p["maritalStatus"]["coding"][0],
        json!({"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "M", "display": "Married"})
    );
    // PID-24 N, PID-25 2 (birth order wins), PID-29 20080825111630+0115, PID-30 Y.
    assert_eq!(p["multipleBirthInteger"], 2);
    assert_eq!(p["deceasedDateTime"], "2008-08-25T11:16:30+01:15");
    assert!(p.get("deceasedBoolean").is_none());
}

#[test]
fn a01_practitioners() {
    let m = map("ADT-A01-01");
    // PD1-4 88^Hippo^rold^H^V^Dr^MD^^TE -> generalPractitioner, an entry of its own.
    let p = &of_type(&m, "Patient")[0]["resource"];
    let gp = by_url(
        &m,
        p["generalPractitioner"][0]["reference"].as_str().unwrap(),
    );
    assert_eq!(gp["request"]["method"], "POST");
    assert_eq!(
        gp["request"]["ifNoneExist"],
        "identifier=urn%3Afhirgate%3Av2%3Aaa%3ATE%7C88"
    );
    assert_eq!(gp["resource"]["name"][0]["family"], "Hippo");
    // PV1-7 1122334 (PERSONNELt&1.23&HCD), PV1-8 C006 (TEST&23.2&HCD, not an OID),
    // PV1-9 C008 (&1.3.6.1.4.1.44750.1.2.2&ISO), PV1-17 37 (AccMgr): one entry each.
    let pr = of_type(&m, "Practitioner");
    assert_eq!(pr.len(), 5);
    let keys: Vec<&str> = pr
        .iter()
        .map(|e| e["request"]["ifNoneExist"].as_str().unwrap())
        .collect();
    for k in [
        "identifier=urn%3Aoid%3A1.23%7C1122334",
        "identifier=urn%3Afhirgate%3Av2%3Aaa%3ATEST%7CC006",
        "identifier=urn%3Aoid%3A1.3.6.1.4.1.44750.1.2.2%7CC008",
        "identifier=urn%3Afhirgate%3Av2%3Aaa%3AAccMgr%7C37",
    ] {
        assert!(keys.contains(&k), "{k}");
    }
    let attending = pr
        .iter()
        .find(|e| e["resource"]["identifier"][0]["value"] == "1122334")
        .unwrap();
    assert_eq!(attending["resource"]["name"][0]["family"], "Alaz");
    assert_eq!(
        attending["resource"]["name"][0]["given"],
        json!(["Mohammed", "Mahi"])
    );
}

#[test]
fn a04_23_sender_scoped_ids_and_composed_phone() {
    let m = map("ADT04-23");
    check("ADT04-23", &m);
    let e = of_type(&m, "Patient")[0];
    // PID-3 123456789^^^^MR has no authority: scoped to MSH-3 NES / MSH-4 NINTENDO.
    assert_eq!(
        e["request"]["url"],
        "Patient?identifier=urn%3Afhirgate%3Av2%3Apatient%3ANES%3ANINTENDO%7C123456789"
    );
    let p = &e["resource"];
    assert_eq!(p["name"][0]["family"], "BROS");
    assert_eq!(p["name"][0]["given"], json!(["MARIO"]));
    assert_eq!(p["birthDate"], "1985-01-01");
    assert_eq!(
        p["_birthDate"]["extension"][0]["valueDateTime"],
        "1985-01-01T00:00:00+07:00"
    );
    // (555)555-0123^HOME^JP:1234567^^1^555^5550123: composed from XTN-5/6/7.
    assert_eq!(
        p["telecom"][0],
        json!({"system": "phone", "value": "+1 (555) 5550123", "use": "home"})
    );
    assert_eq!(
        p["address"][0]["line"],
        json!(["123 FAKE STREET", "MARIO LUIGI BROS PLACE"])
    );
    assert_eq!(p["address"][0]["city"], "TOADSTOOL KINGDOM");
    assert_eq!(p["address"][0]["district"], "1234");
    assert_eq!(p["maritalStatus"]["coding"][0]["code"], "S");
    assert_eq!(p["deceasedBoolean"], false);
    // PV1-7 and PV1-17 are the same 123456^DINO^YOSHI (MSRM): one entry; PV1-8 has no id.
    let pr = of_type(&m, "Practitioner");
    assert_eq!(pr.len(), 1);
    assert_eq!(
        pr[0]["request"]["ifNoneExist"],
        "identifier=urn%3Afhirgate%3Av2%3Aaa%3AMSRM%7C123456"
    );
}

#[test]
fn a04_28_text_marital_status_and_npi() {
    let m = map("ADT04-28");
    check("ADT04-28", &m);
    let p = &of_type(&m, "Patient")[0]["resource"];
    assert_eq!(p["name"][0]["family"], "Bixby");
    assert_eq!(p["name"][0]["given"], json!(["Timothy", "Paul"]));
    assert_eq!(p["birthDate"], "2008-01-06");
    assert!(p.get("_birthDate").is_none());
    // PID-16 "Married" is not a table 0002 code: kept as text.
    assert_eq!(p["maritalStatus"], json!({"text": "Married"}));
    assert_eq!(
        p["telecom"][0],
        json!({"system": "phone", "value": "8088675301", "use": "home"})
    );
    // PD1-4 and PV1-7 are the same NPI 4356789876: one Practitioner, the GP.
    let pr = of_type(&m, "Practitioner");
    assert_eq!(pr.len(), 1);
    assert_eq!(
        pr[0]["resource"]["identifier"][0]["system"],
        "http://hl7.org/fhir/sid/us-npi"
    );
    assert_eq!(p["generalPractitioner"][0]["reference"], pr[0]["fullUrl"]);
}

#[test]
fn a01_23_yes_no_and_two_telecoms() {
    let m = map("ADT01-23");
    check("ADT01-23", &m);
    let p = &of_type(&m, "Patient")[0]["resource"];
    assert_eq!(p["identifier"][0]["system"], "urn:fhirgate:v2:aa:1");
    assert_eq!(
        p["name"][0],
        json!({"family": "DUCK", "given": ["DONALD", "D"]})
    );
    assert_eq!(p["birthDate"], "1924-10-10");
    assert_eq!(p["gender"], "male");
    assert_eq!(p["deceasedBoolean"], false);
    assert_eq!(p["telecom"][0]["use"], "home");
    assert_eq!(p["telecom"][1]["use"], "work");
    assert_eq!(of_type(&m, "Practitioner").len(), 1);
}

#[test]
fn every_adt_event_updates_the_same_patient() {
    let url = "Patient?identifier=urn%3Aoid%3A2.16.1%7CPATID1234";
    for name in [
        "ADT-A01-01",
        "ADT-A04-01",
        "ADT-A05-01",
        "ADT-A08-01",
        "ADT-A28-01",
        "ADT-A31-01",
    ] {
        let m = map(name);
        check(name, &m);
        assert_eq!(of_type(&m, "Patient")[0]["request"]["url"], url, "{name}");
    }
}

#[test]
fn a40_links_survivor_and_replaced() {
    let m = map("ADT-A40-01");
    check("ADT-A40-01", &m);
    let pts = of_type(&m, "Patient");
    assert_eq!(pts.len(), 2);
    // PID-3 12345^^^BCBS^MR survives; MRG-1 56789^^^BCBS^MR is replaced.
    let survivor = pts
        .iter()
        .find(|e| {
            e["request"]["url"] == "Patient?identifier=urn%3Afhirgate%3Av2%3Aaa%3ABCBS%7C12345"
        })
        .unwrap();
    let replaced = pts
        .iter()
        .find(|e| {
            e["request"]["url"] == "Patient?identifier=urn%3Afhirgate%3Av2%3Aaa%3ABCBS%7C56789"
        })
        .unwrap();
    assert_eq!(replaced["request"]["method"], "PUT");
    let s = &survivor["resource"];
    assert_eq!(
        s["name"][0],
        json!({"family": "Test", "given": ["Test", "A"]})
    );
    assert_eq!(s["birthDate"], "2018-02-05");
    assert_eq!(s["gender"], "female");
    assert_eq!(
        s["link"],
        json!([{"other": {"reference": replaced["fullUrl"]}, "type": "replaces"}])
    );
    let r = &replaced["resource"];
    assert_eq!(r["active"], false);
    assert_eq!(r["identifier"][0]["value"], "56789");
    assert_eq!(
        r["link"],
        json!([{"other": {"reference": survivor["fullUrl"]}, "type": "replaced-by"}])
    );
    // The gateway merges both into what it has stored (src/merge.rs): the
    // retired record keeps its content, the survivor its earlier links.
    let merge_of = |e: &Value| {
        m.entries
            .iter()
            .find(|i| e["fullUrl"] == i.full_url.as_str())
            .and_then(|i| i.merge)
    };
    assert_eq!(merge_of(replaced), Some(Merge::Retired));
    assert_eq!(merge_of(survivor), Some(Merge::KeepLinks));
}
