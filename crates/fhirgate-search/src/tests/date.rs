//! Date ranges by precision (search.html#date, datatypes.html#dateTime).
use chrono::{DateTime, Utc};

use crate::extract::date::parse_range;
use crate::extract::{DATE_MAX, DATE_MIN};

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn range(s: &str) -> (DateTime<Utc>, DateTime<Utc>) {
    parse_range(s).unwrap_or_else(|| panic!("{s} should parse"))
}

#[test]
fn precision_defines_the_range() {
    assert_eq!(
        range("1980"),
        (utc("1980-01-01T00:00:00Z"), utc("1980-12-31T23:59:59.999Z"))
    );
    // 1980 is a leap year: February has 29 days.
    assert_eq!(
        range("1980-02"),
        (utc("1980-02-01T00:00:00Z"), utc("1980-02-29T23:59:59.999Z"))
    );
    assert_eq!(
        range("1980-12"),
        (utc("1980-12-01T00:00:00Z"), utc("1980-12-31T23:59:59.999Z"))
    );
    assert_eq!(
        range("1980-05-17"),
        (utc("1980-05-17T00:00:00Z"), utc("1980-05-17T23:59:59.999Z"))
    );
    assert_eq!(
        range("1980-05-17T10:20:30Z"),
        (utc("1980-05-17T10:20:30Z"), utc("1980-05-17T10:20:30.999Z"))
    );
    assert_eq!(
        range("1980-05-17T10:20:30.5Z"),
        (
            utc("1980-05-17T10:20:30.5Z"),
            utc("1980-05-17T10:20:30.599Z")
        )
    );
    assert_eq!(
        range("1980-05-17T10:20:30.123Z"),
        (
            utc("1980-05-17T10:20:30.123Z"),
            utc("1980-05-17T10:20:30.123Z")
        )
    );
    assert_eq!(
        range("1980-05-17T10:20:30.1234Z"),
        (
            utc("1980-05-17T10:20:30.1234Z"),
            utc("1980-05-17T10:20:30.123499Z")
        )
    );
}

#[test]
fn zones_are_converted_and_absent_zone_is_utc() {
    assert_eq!(
        range("2012-10-25T22:04:27+11:00").0,
        utc("2012-10-25T11:04:27Z")
    );
    assert_eq!(
        range("2012-10-25T01:00:00-05:30").0,
        utc("2012-10-25T06:30:00Z")
    );
    assert_eq!(range("2012-10-25T01:00:00").0, utc("2012-10-25T01:00:00Z"));
    // Minute precision is tolerated although R4 requires seconds.
    assert_eq!(
        range("2012-10-25T01:00Z"),
        (utc("2012-10-25T01:00:00Z"), utc("2012-10-25T01:00:59.999Z"))
    );
    // A leap second folds into :59.
    assert_eq!(range("2016-12-31T23:59:60Z").0, utc("2016-12-31T23:59:59Z"));
}

#[test]
fn invalid_dates_yield_nothing() {
    for bad in [
        "",
        "19",
        "1980-2",
        "1980-13",
        "1980-02-30",
        "1980-01-01T",
        "1980-01-01T25:00:00Z",
        "1980-01-01T10:00:00+15:00",
        "1980-01-01T10:00:00.Z",
        "1980-01-01T10:00:00+0100",
        "1980T10:00:00Z",
        "abcd",
        "1980-01-01-01",
        "１９８０",
        "1980-01-01T10:00:00ZZ",
        "-100",
        "+1980",
    ] {
        assert_eq!(parse_range(bad), None, "{bad:?}");
    }
}

#[test]
fn far_bounds() {
    assert_eq!(DATE_MIN, utc("0001-01-01T00:00:00Z"));
    assert_eq!(DATE_MAX, utc("9999-12-31T23:59:59.999Z"));
    assert_eq!(range("9999").1, DATE_MAX);
}
