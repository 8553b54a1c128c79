use super::*;

fn dt(s: &str, default: i32) -> String {
    match parse(s) {
        Ok(d) => d.datetime(default),
        Err(e) => format!("ERR {e:?}"),
    }
}

#[test]
fn every_precision_becomes_a_valid_fhir_value() {
    assert_eq!(dt("2014", 0), "2014");
    assert_eq!(dt("201410", 0), "2014-10");
    assert_eq!(dt("20141006", 0), "2014-10-06");
    // Hours only: FHIR needs minutes and seconds.
    assert_eq!(dt("2014100609", 0), "2014-10-06T09:00:00+00:00");
    assert_eq!(dt("201410060931", 0), "2014-10-06T09:31:00+00:00");
    assert_eq!(dt("20141006093107", 0), "2014-10-06T09:31:07+00:00");
    assert_eq!(dt("20141006093107.1", 0), "2014-10-06T09:31:07.1+00:00");
    assert_eq!(
        dt("20141006093107.1234", 0),
        "2014-10-06T09:31:07.1234+00:00"
    );
}

#[test]
fn an_offset_in_the_message_is_kept() {
    assert_eq!(dt("20141006093100+0700", 0), "2014-10-06T09:31:00+07:00");
    assert_eq!(dt("198808181126+0215", -300), "1988-08-18T11:26:00+02:15");
    assert_eq!(
        dt("20210817151943.4+0200", 0),
        "2021-08-17T15:19:43.4+02:00"
    );
    assert_eq!(dt("20200101120000-0330", 0), "2020-01-01T12:00:00-03:30");
    assert_eq!(dt("20200101120000+0000", 60), "2020-01-01T12:00:00+00:00");
    assert_eq!(dt("20200101120000+1400", 0), "2020-01-01T12:00:00+14:00");
}

#[test]
fn a_time_without_offset_gets_the_configured_one() {
    assert_eq!(dt("20290801070724", 0), "2029-08-01T07:07:24+00:00");
    assert_eq!(dt("20290801070724", 120), "2029-08-01T07:07:24+02:00");
    assert_eq!(dt("20290801070724", -330), "2029-08-01T07:07:24-05:30");
}

#[test]
fn a_date_alone_drops_the_offset() {
    // FHIR forbids a zone on a date without a time.
    assert_eq!(dt("20080106+0700", 0), "2008-01-06");
    assert_eq!(parse("19241010").map(|d| d.date()), Ok("1924-10-10".into()));
}

#[test]
fn date_drops_the_time() {
    let d = parse("198808181126+0215").map(|d| (d.date(), d.has_time()));
    assert_eq!(d, Ok(("1988-08-18".into(), true)));
}

#[test]
fn calendar_errors() {
    assert_eq!(parse("20211301"), Err(DtmError::Calendar));
    assert_eq!(parse("20210230"), Err(DtmError::Calendar));
    assert_eq!(parse("20230229"), Err(DtmError::Calendar));
    assert_eq!(parse("21000229"), Err(DtmError::Calendar));
    assert!(parse("20000229").is_ok());
    assert!(parse("20240229").is_ok());
    assert_eq!(parse("20210431"), Err(DtmError::Calendar));
    assert_eq!(parse("20210100"), Err(DtmError::Calendar));
    assert_eq!(parse("202100"), Err(DtmError::Calendar));
    assert_eq!(parse("2021010124"), Err(DtmError::Calendar));
    assert_eq!(parse("202101012360"), Err(DtmError::Calendar));
    assert_eq!(parse("20210101235960"), Err(DtmError::Calendar));
    assert_eq!(parse("0000"), Err(DtmError::Calendar));
}

#[test]
fn syntax_errors() {
    for s in [
        "",
        "201",
        "20211",
        "2021010112345",
        "202101011234567",
        "2021-01-01",
        "2021010112.5",
        "20210101123456.",
        "20210101123456.12345",
        "20210101123456.1a",
        "abcd",
        "20210101+07",
        "20210101+07000",
        "20210101+07a0",
        "20210101 1200",
    ] {
        assert_eq!(parse(s), Err(DtmError::Syntax), "{s:?}");
    }
}

#[test]
fn offset_errors() {
    assert_eq!(parse("202101011200+1500"), Err(DtmError::Offset));
    assert_eq!(parse("202101011200+1401"), Err(DtmError::Offset));
    assert_eq!(parse("202101011200-0260"), Err(DtmError::Offset));
    assert!(parse("202101011200-1400").is_ok());
}

#[test]
fn blanks_around_are_ignored() {
    assert_eq!(dt(" 20141006 ", 0), "2014-10-06");
}

#[test]
fn instant_needs_a_time() {
    let d = parse("20210924").and_then(|d| d.instant(0));
    assert_eq!(d, Err(DtmError::NoTime));
    let d = parse("202109240930+0215").and_then(|d| d.instant(0));
    assert_eq!(d, Ok("2021-09-24T09:30:00+02:15".into()));
}

#[test]
fn arithmetic_keeps_the_offset_and_crosses_days() {
    let end = parse("20210924093000+0215")
        .and_then(|d| d.plus_seconds(50 * 60, 0))
        .map(|d| d.datetime(0));
    assert_eq!(end, Ok("2021-09-24T10:20:00+02:15".into()));
    let end = parse("20201231233000")
        .and_then(|d| d.plus_seconds(3600, 60))
        .map(|d| d.datetime(0));
    assert_eq!(end, Ok("2021-01-01T00:30:00+01:00".into()));
    let end = parse("20240228230000")
        .and_then(|d| d.plus_seconds(7200, 0))
        .map(|d| d.date());
    assert_eq!(end, Ok("2024-02-29".into()));
}

#[test]
fn epoch_seconds_respects_offsets() {
    let a = parse("20210924093000+0215").and_then(|d| d.epoch_seconds(0));
    let b = parse("20210924071500+0000").and_then(|d| d.epoch_seconds(0));
    assert_eq!(a, b);
    let z = parse("19700101000000").and_then(|d| d.epoch_seconds(0));
    assert_eq!(z, Ok(0));
    let c = parse("20000301000000").and_then(|d| d.epoch_seconds(0));
    assert_eq!(c, Ok(951_868_800));
}

#[test]
fn offsets_format() {
    assert_eq!(format_offset(0), "+00:00");
    assert_eq!(format_offset(135), "+02:15");
    assert_eq!(format_offset(-330), "-05:30");
    assert!(valid_offset(-840) && valid_offset(840) && !valid_offset(841));
}

#[test]
fn huge_durations_are_errors_not_overflows() {
    let d = parse("20210924093000").unwrap_or_else(|_| unreachable!());
    assert_eq!(d.plus_seconds(i64::MAX, 0), Err(DtmError::Calendar));
    assert_eq!(
        d.plus_seconds(400 * 366 * 86_400 * 30, 0),
        Err(DtmError::Calendar)
    );
}
