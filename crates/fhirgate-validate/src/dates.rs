//! Calendar checks for the FHIR date/time primitives (http://hl7.org/fhir/R4/datatypes.html).
//!
//! The R4 JSON Schema regexes only check the *shape* of a value: `1980-02-30` and `2021-02-29`
//! match `date`'s pattern, yet datatypes.html says "Dates SHALL be valid dates". These functions
//! are registered as JSON Schema `format` checkers (see `schema.rs`), so they run wherever the
//! schema uses one of these types, including choice types (`valueDate`, `effectiveDateTime`) in
//! extensions and contained resources. Each function checks the whole lexical form itself, not
//! relying on the pattern having run first.

/// `format` names attached to the in-memory schema.
pub const FORMAT_DATE: &str = "fhir-date";
pub const FORMAT_DATE_TIME: &str = "fhir-dateTime";
pub const FORMAT_INSTANT: &str = "fhir-instant";
pub const FORMAT_TIME: &str = "fhir-time";

/// date: `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, no time zone.
pub fn is_valid_date(s: &str) -> bool {
    date_part_full(s, false).is_some_and(|rest| rest.is_empty())
}

/// dateTime: a date as above, optionally followed by `Thh:mm:ss(.f+)` and then a time zone,
/// which "SHALL be populated" if hours and minutes are.
pub fn is_valid_date_time(s: &str) -> bool {
    let Some(rest) = date_part_full(s, false) else {
        return false;
    };
    match rest.strip_prefix('T') {
        None => rest.is_empty(),
        // A time needs a full date before it (the pattern nests the time inside the day).
        Some(time) => s.len() - rest.len() == 10 && time_then_zone(time),
    }
}

/// instant: always a full date, a time and a time zone.
pub fn is_valid_instant(s: &str) -> bool {
    let Some(rest) = date_part_full(s, true) else {
        return false;
    };
    rest.strip_prefix('T').is_some_and(time_then_zone)
}

/// time: `hh:mm:ss(.f+)`, no time zone; "24:00" SHALL NOT be used.
pub fn is_valid_time(s: &str) -> bool {
    time_part(s).is_some_and(|rest| rest.is_empty())
}

/// Why a value failed, for diagnostics (no client data in the message).
pub fn explain(format: &str) -> &'static str {
    match format {
        FORMAT_DATE => "Not a valid FHIR date: expected YYYY, YYYY-MM or YYYY-MM-DD with a month 01-12 and a day that exists in that month (http://hl7.org/fhir/R4/datatypes.html#date)",
        FORMAT_DATE_TIME => "Not a valid FHIR dateTime: the date must exist in the calendar, a time must be 00:00:00-23:59:59 and carry a time zone between -14:00 and +14:00 (http://hl7.org/fhir/R4/datatypes.html#dateTime)",
        FORMAT_INSTANT => "Not a valid FHIR instant: a full calendar date, a time 00:00:00-23:59:59 and a time zone between -14:00 and +14:00 are required (http://hl7.org/fhir/R4/datatypes.html#instant)",
        FORMAT_TIME => "Not a valid FHIR time: expected hh:mm:ss between 00:00:00 and 23:59:59, without a time zone (http://hl7.org/fhir/R4/datatypes.html#time)",
        _ => "Value does not have the required format",
    }
}

/// Parses `YYYY(-MM(-DD)?)?` (all three if `full`), returning the unparsed rest.
fn date_part_full(s: &str, full: bool) -> Option<&str> {
    let (year, rest) = digits(s, 4)?;
    // Year 0000 does not exist (the R4 regex excludes it too).
    if year == 0 {
        return None;
    }
    let Some(rest) = rest.strip_prefix('-') else {
        return (!full).then_some(rest);
    };
    let (month, rest) = digits(rest, 2)?;
    if !(1..=12).contains(&month) {
        return None;
    }
    let Some(rest) = rest.strip_prefix('-') else {
        return (!full).then_some(rest);
    };
    let (day, rest) = digits(rest, 2)?;
    if day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(rest)
}

/// Parses `hh:mm:ss(.f+)?`, returning the unparsed rest.
fn time_part(s: &str) -> Option<&str> {
    let (hour, rest) = digits(s, 2)?;
    let (minute, rest) = digits(rest.strip_prefix(':')?, 2)?;
    let (second, rest) = digits(rest.strip_prefix(':')?, 2)?;
    // The R4 regex admits second 60 for leap seconds, so we do too; hours stop at 23.
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    match rest.strip_prefix('.') {
        None => Some(rest),
        Some(frac) => {
            let n = frac.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 {
                return None;
            }
            frac.get(n..)
        }
    }
}

fn time_then_zone(s: &str) -> bool {
    time_part(s).is_some_and(is_zone)
}

/// `Z`, or `+hh:mm` / `-hh:mm` within -14:00..+14:00 (the range real zones use; the R4 regex
/// says the same).
fn is_zone(s: &str) -> bool {
    if s == "Z" {
        return true;
    }
    let Some(rest) = s.strip_prefix('+').or_else(|| s.strip_prefix('-')) else {
        return false;
    };
    let Some((hour, rest)) = digits(rest, 2) else {
        return false;
    };
    let Some((minute, rest)) = rest.strip_prefix(':').and_then(|r| digits(r, 2)) else {
        return false;
    };
    rest.is_empty() && minute <= 59 && (hour < 14 || (hour == 14 && minute == 0))
}

/// Exactly `n` ASCII digits at the start of `s`, as a number, and the rest.
fn digits(s: &str, n: usize) -> Option<(u32, &str)> {
    let head = s.get(..n)?;
    if !head.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value = head.parse().ok()?;
    Some((value, s.get(n..)?))
}

/// Gregorian calendar: leap years are divisible by 4, except centuries not divisible by 400.
// `%` rather than `is_multiple_of`, which needs Rust 1.87 (the workspace declares 1.85).
#[allow(clippy::manual_is_multiple_of)]
fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        for ok in ["2000-02-29", "1980", "1980-12", "2024-02-29", "0001-01-01"] {
            assert!(is_valid_date(ok), "{ok}");
        }
        for bad in [
            "1900-02-29",
            "1980-02-30",
            "2021-13-01",
            "0000",
            "1980-1",
            "1980-01-1",
            "19800101",
            "",
            "1980-01-01Z",
            "１９８０",
        ] {
            assert!(!is_valid_date(bad), "{bad}");
        }
    }

    #[test]
    fn date_times() {
        for ok in [
            "2015",
            "2015-02",
            "2015-02-07",
            "2015-02-07T13:28:17-05:00",
            "2017-01-01T00:00:00.000Z",
            "2017-01-01T00:00:00+14:00",
        ] {
            assert!(is_valid_date_time(ok), "{ok}");
        }
        for bad in [
            "2015-02-07T13:28:17",
            "2015-02T13:28:17Z",
            "2015-02-07T25:00:00Z",
            "2015-02-07T13:28:17+14:01",
            "2015-02-07T13:28:17+1:00",
            "2015-02-07T13:28Z",
            "2015-02-07T",
        ] {
            assert!(!is_valid_date_time(bad), "{bad}");
        }
    }

    #[test]
    fn instants() {
        assert!(is_valid_instant("2015-02-07T13:28:17.239+02:00"));
        for bad in [
            "2015-02-07",
            "2015-02-07T13:28:17",
            "2015",
            "2015-02-29T13:28:17Z",
        ] {
            assert!(!is_valid_instant(bad), "{bad}");
        }
    }

    #[test]
    fn times() {
        for ok in ["00:00:00", "23:59:59", "12:00:00.5"] {
            assert!(is_valid_time(ok), "{ok}");
        }
        for bad in [
            "24:00:00",
            "23:60:00",
            "12:00",
            "12:00:00Z",
            "12:00:00.",
            "1:00:00",
        ] {
            assert!(!is_valid_time(bad), "{bad}");
        }
    }
}
