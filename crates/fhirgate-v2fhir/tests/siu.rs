//! SIU expectations written by hand from the message text.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{by_url, check, map, of_type};
use serde_json::{json, Value};

/// SCH-2 36996 from SCHApp / GHHSFacility (no namespace in the EI).
const APPT: &str =
    "Appointment?identifier=urn%3Afhirgate%3Av2%3Afiller%3ASCHApp%3AGHHSFacility%7C36996";

fn appointment(m: &fhirgate_v2fhir::Mapped) -> &Value {
    let a = of_type(m, "Appointment");
    assert_eq!(a.len(), 1);
    assert_eq!(a[0]["request"]["method"], "PUT");
    a[0]
}

#[test]
fn s12_01_booked_with_times_and_participants() {
    let m = map("SIU-S12-01");
    check("SIU-S12-01", &m);
    let e = appointment(&m);
    assert_eq!(e["request"]["url"], APPT);
    let a = &e["resource"];
    assert_eq!(a["status"], "booked");
    // TQ1-7 20210924093000+0215, TQ1-8 20210924102000+0215.
    assert_eq!(a["start"], "2021-09-24T09:30:00+02:15");
    assert_eq!(a["end"], "2021-09-24T10:20:00+02:15");
    assert_eq!(a["minutesDuration"], 50);
    assert_eq!(a["identifier"][0]["value"], "12345");
    assert_eq!(a["identifier"][0]["type"]["coding"][0]["code"], "PLAC");
    assert_eq!(a["identifier"][1]["value"], "36996");
    assert_eq!(
        a["serviceType"][0]["coding"][0],
        json!({"system": "http://snomed.info/sct", "code": "76164006", "display": "Biopsy of colon (procedure)"})
    );
    let parts = a["participant"].as_array().unwrap();
    let patient = of_type(&m, "Patient")[0];
    assert_eq!(patient["request"]["method"], "POST");
    assert_eq!(
        parts[0],
        json!({"actor": {"reference": patient["fullUrl"]}, "status": "accepted"})
    );
    // AIP|001||1210^GE^Robert^C|010^Gastroenterologist^L||...|Booked
    let aip = parts.iter().find(|p| p.get("type").is_some()).unwrap();
    assert_eq!(aip["status"], "accepted");
    assert_eq!(aip["type"][0]["coding"][0]["display"], "Gastroenterologist");
    let pr = by_url(&m, aip["actor"]["reference"].as_str().unwrap());
    assert_eq!(pr["resource"]["name"][0]["family"], "GE");
    assert_eq!(
        pr["request"]["ifNoneExist"],
        "identifier=urn%3Afhirgate%3Av2%3Apractitioner%3ASCHApp%3AGHHSFacility%7C1210"
    );
    // AIG-3 5001^EVIS X12 Video Colonoscope and AIL-3 055^Room01^^GH Clinic by display.
    assert!(parts
        .iter()
        .any(|p| p["actor"] == json!({"display": "EVIS X12 Video Colonoscope"})));
    assert!(parts
        .iter()
        .any(|p| p["actor"] == json!({"display": "055, Room01, GH Clinic"})));
}

#[test]
fn s12_1_three_practitioners_over_four_days() {
    let m = map("SIU-S12_1");
    check("SIU-S12_1", &m);
    let a = &appointment(&m)["resource"];
    // TQ1-7 202010041126+0215 to TQ1-8 202010081126+0215: 4 days.
    assert_eq!(a["start"], "2020-10-04T11:26:00+02:15");
    assert_eq!(a["end"], "2020-10-08T11:26:00+02:15");
    assert_eq!(a["minutesDuration"], 4 * 24 * 60);
    let families: Vec<&Value> = of_type(&m, "Practitioner")
        .iter()
        .map(|e| &e["resource"]["name"][0]["family"])
        .collect();
    assert_eq!(families, ["Tim", "Robert", "Linda"]);
}

#[test]
fn the_lifecycle_updates_one_appointment() {
    // S13 reschedules to Aug 20, S14 modifies (Aug 18), S15 cancels, S17 deletes, S26 no-show.
    let cases = [
        (
            "SIU-S13-02",
            "booked",
            "2021-08-20T11:30:00+02:15",
            "accepted",
        ),
        (
            "SIU-S14-02",
            "booked",
            "2021-08-18T11:30:00+02:15",
            "accepted",
        ),
        (
            "SIU-S15-02",
            "cancelled",
            "2021-08-18T11:30:00+02:15",
            "declined",
        ),
        (
            "SIU-S17-02",
            "cancelled",
            "2021-08-18T11:30:00+02:15",
            "declined",
        ),
        (
            "SIU-S26-02",
            "noshow",
            "2021-08-18T11:30:00+02:15",
            "declined",
        ),
    ];
    for (name, status, start, practitioner_status) in cases {
        let m = map(name);
        check(name, &m);
        let e = appointment(&m);
        assert_eq!(e["request"]["url"], APPT, "{name}");
        let a = &e["resource"];
        assert_eq!(a["status"], status, "{name}");
        assert_eq!(a["start"], start, "{name}");
        assert_eq!(a["minutesDuration"], 60, "{name}");
        let parts = a["participant"].as_array().unwrap();
        // Patient + AIP 400, 500, 600 + AIG + AIL entries.
        let practitioners: Vec<&Value> = parts.iter().filter(|p| p.get("type").is_some()).collect();
        assert_eq!(practitioners.len(), 3, "{name}");
        // AIP-12 is empty: the participant status follows the appointment's.
        assert!(
            practitioners
                .iter()
                .all(|p| p["status"] == practitioner_status),
            "{name}"
        );
    }
}

#[test]
fn times_fall_back_to_sch_11_then_ais() {
    let text = String::from_utf8(common::raw("SIU-S12-01")).unwrap();
    let no_tq1: Vec<&str> = text.split('\r').filter(|s| !s.starts_with("TQ1")).collect();
    // SCH-11 2^^2 hours^202010011126+0215^202010091126+0215^R
    let msg = fhirgate_hl7::parse(no_tq1.join("\r").as_bytes()).unwrap();
    let m = fhirgate_v2fhir::to_bundle(&msg, &Default::default()).unwrap();
    check("SIU-S12-01 without TQ1", &m);
    let a = &appointment(&m)["resource"];
    assert_eq!(a["start"], "2020-10-01T11:26:00+02:15");
    assert_eq!(a["end"], "2020-10-09T11:26:00+02:15");
    // Without SCH-11 either: AIS|001|A|76164006^...|20210924093000+0215|||50|min^Minutes^ISO
    let joined = no_tq1.join("\r").replacen(
        "|2^^2 hours^202010011126+0215^202010091126+0215^R|",
        "||",
        1,
    );
    let msg = fhirgate_hl7::parse(joined.as_bytes()).unwrap();
    let m = fhirgate_v2fhir::to_bundle(&msg, &Default::default()).unwrap();
    check("SIU-S12-01 without TQ1 and SCH-11", &m);
    let a = &appointment(&m)["resource"];
    assert_eq!(a["start"], "2021-09-24T09:30:00+02:15");
    assert_eq!(a["end"], "2021-09-24T10:20:00+02:15");
    assert_eq!(a["minutesDuration"], 50);
    // An absurd AIS-7 duration is a data type error, not an overflow.
    let absurd = joined.replacen(
        "|||50|min^Minutes^ISO||Booked|5001",
        "|||999999999999999|d||Booked|5001",
        1,
    );
    assert_ne!(absurd, joined);
    let msg = fhirgate_hl7::parse(absurd.as_bytes()).unwrap();
    let e = fhirgate_v2fhir::to_bundle(&msg, &Default::default()).expect_err("overflow");
    assert_eq!(e.code, fhirgate_v2fhir::ErrorCode::DataTypeError);
    assert_eq!(
        (e.location.segment.as_str(), e.location.field),
        ("AIS", Some(7))
    );
}
