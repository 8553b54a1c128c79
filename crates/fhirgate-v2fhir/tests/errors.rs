//! MapError: location, table 0357 code, no patient data in the text; and the
//! facility offset option.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use fhirgate_v2fhir::{to_bundle, ErrorCode, MapError, MapOptions, Mapped};

fn edited(name: &str, from: &str, to: &str, opts: &MapOptions) -> Result<Mapped, MapError> {
    let text = String::from_utf8(common::raw(name)).unwrap();
    assert!(text.contains(from), "{from} not in {name}");
    let msg = fhirgate_hl7::parse(text.replacen(from, to, 1).as_bytes()).unwrap();
    to_bundle(&msg, opts)
}

fn err(name: &str, from: &str, to: &str) -> MapError {
    edited(name, from, to, &MapOptions::default()).expect_err("should fail")
}

fn at(e: &MapError) -> (&str, usize, Option<usize>) {
    (
        e.location.segment.as_str(),
        e.location.sequence,
        e.location.field,
    )
}

#[test]
fn invalid_birth_date_is_a_data_type_error_without_the_value() {
    let e = err("ADT-A01-01", "|198808181126+0215|M|", "|19880230|M|");
    assert_eq!(e.code, ErrorCode::DataTypeError);
    assert_eq!(e.code.code(), "102");
    assert_eq!(at(&e), ("PID", 1, Some(7)));
    assert!(!e.message.contains("19880230"));
    assert!(!e.to_string().contains("EVERYMAN"));
    assert!(!e.code.is_reject(), "a content error is AE");
}

#[test]
fn hours_without_minutes_is_not_an_error() {
    let m = edited(
        "ORU-R01-RMGEAD",
        "20020215073000+0600",
        "2002021507",
        &MapOptions::default(),
    )
    .unwrap();
    let obs = common::of_type(&m, "Observation");
    assert_eq!(
        obs[0]["resource"]["effectiveDateTime"],
        "2002-02-15T07:00:00+00:00"
    );
}

#[test]
fn missing_patient_identifier() {
    let e = err("ADT-A40-01", "PID|1||12345^^^BCBS^MR||", "PID|1||||");
    assert_eq!(e.code, ErrorCode::RequiredFieldMissing);
    assert_eq!(at(&e), ("PID", 1, Some(3)));
}

#[test]
fn unknown_gender_is_a_table_error() {
    let e = err("ADT-A40-01", "||20180205|F|", "||20180205|Z|");
    assert_eq!(e.code, ErrorCode::TableValueNotFound);
    assert_eq!(at(&e), ("PID", 1, Some(8)));
}

#[test]
fn unknown_result_status_and_bad_number() {
    let e = err("LAB-ORU-2", "||0|%||N|||F|", "||0|%||N|||Q|");
    assert_eq!(e.code, ErrorCode::TableValueNotFound);
    assert_eq!(at(&e), ("OBX", 1, Some(11)));
    let e = err("LAB-ORU-2", "||72|%|", "||seventy-two|%|");
    assert_eq!(e.code, ErrorCode::DataTypeError);
    assert_eq!(at(&e), ("OBX", 2, Some(5)));
    assert!(!e.message.contains("seventy"));
}

#[test]
fn appointment_without_end() {
    let e = err(
        "SIU-S13-02",
        "|202108201130+0215|202108201230+0215|",
        "|202108201130+0215||",
    );
    assert_eq!(e.code, ErrorCode::RequiredFieldMissing);
    assert_eq!(at(&e), ("TQ1", 1, Some(8)));
}

#[test]
fn empty_message_type() {
    // The checked parser already refuses a message without MSH-9 (its header is
    // wrong: an AR before any mapping); the mapping's own check stays for messages
    // built another way, so it is exercised on a parsed message with MSH-9 emptied.
    let text = String::from_utf8(common::raw("ADT-A40-01")).unwrap();
    let blank = text.replacen("|ADT^A40^ADT_A40|", "||", 1);
    assert!(matches!(
        fhirgate_hl7::parse(blank.as_bytes()),
        Err(fhirgate_hl7::ParseError::BadHeader(_))
    ));
    let mut msg = fhirgate_hl7::parse(text.as_bytes()).unwrap();
    msg.segments[0].fields[8] = fhirgate_hl7::Field::default();
    let e = to_bundle(&msg, &MapOptions::default()).expect_err("should fail");
    assert_eq!(e.code, ErrorCode::RequiredFieldMissing);
    assert_eq!(at(&e), ("MSH", 1, Some(9)));
}

#[test]
fn times_without_offset_take_the_facility_offset() {
    // MSH-4 ELAB-3; OBR-7 without its +0600.
    let mut opts = MapOptions::default();
    let m = edited(
        "ORU-R01-RMGEAD",
        "20020215073000+0600",
        "20020215073000",
        &opts,
    )
    .unwrap();
    let obs = common::of_type(&m, "Observation");
    assert_eq!(
        obs[0]["resource"]["effectiveDateTime"],
        "2002-02-15T07:30:00+00:00"
    );
    opts.facility_offsets.insert("ELAB-3".into(), -300);
    let m = edited(
        "ORU-R01-RMGEAD",
        "20020215073000+0600",
        "20020215073000",
        &opts,
    )
    .unwrap();
    let obs = common::of_type(&m, "Observation");
    assert_eq!(
        obs[0]["resource"]["effectiveDateTime"],
        "2002-02-15T07:30:00-05:00"
    );
    opts.default_offset = 60;
    opts.facility_offsets.clear();
    let m = edited(
        "ORU-R01-RMGEAD",
        "20020215073000+0600",
        "20020215073000",
        &opts,
    )
    .unwrap();
    let obs = common::of_type(&m, "Observation");
    assert_eq!(
        obs[0]["resource"]["effectiveDateTime"],
        "2002-02-15T07:30:00+01:00"
    );
    // An offset in the message is kept whatever is configured.
    let m = common::map_with("ORU-R01-RMGEAD", &opts).unwrap();
    let obs = common::of_type(&m, "Observation");
    assert_eq!(
        obs[0]["resource"]["effectiveDateTime"],
        "2002-02-15T07:30:00+06:00"
    );
}

#[test]
fn a_bad_configured_offset_is_our_error() {
    let opts = MapOptions {
        default_offset: 15 * 60,
        ..MapOptions::default()
    };
    let e = common::map_with("LAB-ORU-2", &opts).expect_err("bad option");
    assert_eq!(e.code, ErrorCode::ApplicationInternalError);
    assert!(e.code.is_reject());
}

#[test]
fn configured_authorities_win() {
    let mut opts = MapOptions::default();
    opts.authorities
        .insert("BCBS".into(), "https://bcbs.example/member".into());
    let m = common::map_with("ADT-A40-01", &opts).unwrap();
    let urls: Vec<&str> = common::of_type(&m, "Patient")
        .iter()
        .map(|e| e["request"]["url"].as_str().unwrap())
        .collect();
    assert!(urls.contains(&"Patient?identifier=https%3A%2F%2Fbcbs.example%2Fmember%7C12345"));
}

#[test]
fn an_obx_outside_an_order_is_a_sequence_error() {
    let e = err("ORU-R01-RMGEAD", "\rOBR|1|", "\rOBX|1|NM|1^X^LN||1\rOBR|1|");
    assert_eq!(e.code, ErrorCode::SegmentSequenceError);
    assert_eq!(e.code.code(), "100");
    assert_eq!(at(&e), ("OBX", 1, None));
}

#[test]
fn each_pid_of_an_oru_is_the_subject_of_its_orders() {
    let m = edited(
        "LAB-ORU-2",
        "\rOBR|2|",
        "\rPID|1||999^^^1^MR||OTHER^ONE||19700101|F\rOBR|2|",
        &MapOptions::default(),
    )
    .unwrap();
    common::check("LAB-ORU-2 two patients", &m);
    let pts = common::of_type(&m, "Patient");
    assert_eq!(pts.len(), 2);
    let obs = common::of_type(&m, "Observation");
    // OBR|2|88502218|82503246|24317-0^Hemogram... and its OBX 20509-6 belong to the second PID.
    for code in ["24317-0", "20509-6"] {
        let o = obs
            .iter()
            .find(|e| e["resource"]["code"]["coding"][0]["code"] == code)
            .unwrap();
        assert_eq!(
            o["resource"]["subject"]["reference"], pts[1]["fullUrl"],
            "{code}"
        );
    }
    let first = obs
        .iter()
        .find(|e| e["resource"]["code"]["coding"][0]["code"] == "26464-8")
        .unwrap();
    assert_eq!(first["resource"]["subject"]["reference"], pts[0]["fullUrl"]);
}

#[test]
fn an_siu_without_patient_keeps_its_practitioners() {
    let text = String::from_utf8(common::raw("SIU-S14-02")).unwrap();
    let no_pid: Vec<&str> = text
        .split('\r')
        .filter(|s| !s.starts_with("PID") && !s.starts_with("PV1"))
        .collect();
    let msg = fhirgate_hl7::parse(no_pid.join("\r").as_bytes()).unwrap();
    let m = to_bundle(&msg, &MapOptions::default()).unwrap();
    common::check("SIU-S14-02 without PID", &m);
    assert!(common::of_type(&m, "Patient").is_empty());
    let a = &common::of_type(&m, "Appointment")[0]["resource"];
    assert_eq!(common::of_type(&m, "Practitioner").len(), 3);
    assert!(a["participant"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["actor"].get("reference").is_none()
            || p["actor"]["reference"]
                .as_str()
                .unwrap()
                .starts_with("urn:uuid:")));
}
