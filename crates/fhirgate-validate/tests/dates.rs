//! Rule 3: date, dateTime, instant and time must be real calendar values
//! (http://hl7.org/fhir/R4/datatypes.html: "Dates SHALL be valid dates"), wherever they occur.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{assert_issue, assert_valid};
use fhirgate_validate::IssueCode;

fn patient(field: &str, value: &str) -> String {
    format!(r#"{{"resourceType":"Patient","{field}":"{value}"}}"#)
}

#[test]
fn date_must_exist_in_the_calendar() {
    for ok in [
        "2000-02-29",
        "2024-02-29",
        "1980",
        "1980-02",
        "0001-01-01",
        "9999-12-31",
        "1980-04-30",
    ] {
        assert_valid(&patient("birthDate", ok));
    }
    // 1900 is not a leap year (divisible by 100, not by 400); 2023 is not either.
    for bad in [
        "1980-02-30",
        "2021-13-01",
        "1900-02-29",
        "2023-02-29",
        "2023-04-31",
        "1980-00",
        "1980-01-00",
        "0000",
        "1980-1-1",
        "1980-01-01T10:00:00Z",
    ] {
        assert_issue(
            &patient("birthDate", bad),
            IssueCode::Value,
            "Patient.birthDate",
        );
    }
}

#[test]
fn date_time_needs_a_real_date_a_real_time_and_a_zone_within_14_hours() {
    for ok in [
        "2020-02-29T23:59:59.999+14:00",
        "2020-02-29T00:00:00-14:00",
        "2020-02-29T12:30:00Z",
        "2020",
        "2020-02",
        "2020-02-29",
        "2016-12-31T23:59:60Z", // the R4 regex admits leap seconds
    ] {
        assert_valid(&patient("deceasedDateTime", ok));
    }
    for bad in [
        "2021-02-29T10:00:00Z",
        "2020-01-01T24:00:00Z",
        "2020-01-01T23:60:00Z",
        "2020-01-01T10:00:00+14:30",
        "2020-01-01T10:00:00+15:00",
        "2020-01-01T10:00:00",
        "2020-01-01T10:00Z",
        "2020-01T10:00:00Z",
        "2020-01-01T10:00:00.Z",
    ] {
        assert_issue(
            &patient("deceasedDateTime", bad),
            IssueCode::Value,
            "Patient.deceasedDateTime",
        );
    }
}

#[test]
fn instant_needs_a_full_date_time_and_zone() {
    let obs = |issued: &str| {
        format!(
            r#"{{"resourceType":"Observation","status":"final","code":{{"text":"x"}},"issued":"{issued}"}}"#
        )
    };
    assert_valid(&obs("2020-02-29T00:00:00Z"));
    assert_valid(&obs("2020-02-29T00:00:00.123456+05:30"));
    for bad in [
        "2021-02-29T00:00:00Z",
        "2020-02-29",
        "2020-02-29T00:00:00",
        "2020-02-30T00:00:00Z",
    ] {
        assert_issue(&obs(bad), IssueCode::Value, "Observation.issued");
    }
}

#[test]
fn time_is_00_00_00_to_23_59_59_without_zone() {
    let ext = |t: &str| {
        format!(
            r#"{{"resourceType":"Patient","extension":[{{"url":"http://x.org/t","valueTime":"{t}"}}]}}"#
        )
    };
    assert_valid(&ext("00:00:00"));
    assert_valid(&ext("23:59:59.5"));
    for bad in ["24:00:00", "12:60:00", "10:00:00Z", "10:00", "7:00:00"] {
        assert_issue(
            &ext(bad),
            IssueCode::Value,
            "Patient.extension[0].valueTime",
        );
    }
}

#[test]
fn dates_in_extensions_and_datatypes_are_checked_too() {
    assert_issue(
        r#"{"resourceType":"Patient","extension":[{"url":"http://x.org/d","valueDate":"1980-02-30"}]}"#,
        IssueCode::Value,
        "Patient.extension[0].valueDate",
    );
    assert_issue(
        r#"{"resourceType":"Patient","name":[{"family":"X","extension":[{"url":"http://x.org/a","extension":[{"url":"b","valueDateTime":"2019-02-29"}]}]}]}"#,
        IssueCode::Value,
        "Patient.name[0].extension[0].extension[0].valueDateTime",
    );
    assert_issue(
        r#"{"resourceType":"Observation","status":"final","code":{"text":"x"},"effectivePeriod":{"start":"2019-06-31"}}"#,
        IssueCode::Value,
        "Observation.effectivePeriod.start",
    );
    assert_issue(
        r#"{"resourceType":"Patient","meta":{"lastUpdated":"2019-02-29T00:00:00Z"}}"#,
        IssueCode::Value,
        "Patient.meta.lastUpdated",
    );
}
