//! Date values (search.html#date): every date is an implicit range whose
//! width is the precision of the value as written (datatypes.html#dateTime).
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};
use serde_json::Value;

use super::{DATE_MAX, DATE_MIN};
use crate::fhirpath::Item;
use crate::model::TypeModel;
use crate::IndexValue;

type Range = (DateTime<Utc>, DateTime<Utc>);

pub(super) fn date(_model: &TypeModel, item: &Item<'_>, out: &mut Vec<IndexValue>) {
    let Item::Node { value, ty } = *item else {
        return;
    };
    let range = match ty {
        "date" | "dateTime" | "instant" => value.as_str().and_then(parse_range),
        "Period" => period(value),
        "Timing" => timing(value),
        _ => None,
    };
    if let Some((low, high)) = range {
        out.push(IndexValue::Date { low, high });
    }
}

/// Period: start's low to end's high; a missing end means "ongoing"
/// (datatypes.html#Period), so open ends become the far bounds.
fn period(v: &Value) -> Option<Range> {
    let bound = |name: &str| match v.get(name) {
        None | Some(Value::Null) => Some(None),
        Some(x) => x.as_str().and_then(parse_range).map(Some),
    };
    let (start, end) = (bound("start")?, bound("end")?);
    if start.is_none() && end.is_none() {
        return None;
    }
    let low = start.map_or(DATE_MIN, |r| r.0);
    let high = end.map_or(DATE_MAX, |r| r.1);
    (low <= high).then_some((low, high))
}

/// Timing: the outer limits of its events and of `repeat.boundsPeriod`.
fn timing(v: &Value) -> Option<Range> {
    let events = v
        .get("event")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    let mut ranges: Vec<Range> = events
        .filter_map(|e| e.as_str().and_then(parse_range))
        .collect();
    if let Some(bounds) = v.get("repeat").and_then(|r| r.get("boundsPeriod")) {
        ranges.extend(period(bounds));
    }
    let low = ranges.iter().map(|r| r.0).min()?;
    let high = ranges.iter().map(|r| r.1).max()?;
    Some((low, high))
}

#[derive(Clone, Copy)]
enum Precision {
    Year,
    Month,
    Day,
    Minute,
    Second,
    /// Fraction-of-second digits.
    Fraction(u32),
}

fn num(s: &str, digits: usize) -> Option<u32> {
    if s.len() != digits || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses a FHIR `date`, `dateTime` or `instant` into its inclusive range
/// in UTC. A value without a zone is taken as UTC. Invalid text yields
/// `None`.
pub(crate) fn parse_range(s: &str) -> Option<Range> {
    let (date_part, time_part) = match s.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut dp = date_part.split('-');
    let year = num(dp.next()?, 4)?;
    let month = match dp.next() {
        Some(m) => Some(num(m, 2)?),
        None => None,
    };
    let day = match dp.next() {
        Some(d) => Some(num(d, 2)?),
        None => None,
    };
    if dp.next().is_some() {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(
        i32::try_from(year).ok()?,
        month.unwrap_or(1),
        day.unwrap_or(1),
    )?;
    let (time, precision, offset) = match (time_part, month, day) {
        (None, None, _) => (NaiveTime::MIN, Precision::Year, 0),
        (None, Some(_), None) => (NaiveTime::MIN, Precision::Month, 0),
        (None, Some(_), Some(_)) => (NaiveTime::MIN, Precision::Day, 0),
        (Some(t), Some(_), Some(_)) => parse_time(t)?,
        (Some(_), _, _) => return None,
    };
    let local = NaiveDateTime::new(date, time);
    let next = match precision {
        Precision::Year => NaiveDate::from_ymd_opt(date.year() + 1, 1, 1)?.and_time(NaiveTime::MIN),
        Precision::Month => {
            let (y, m) = if date.month() == 12 {
                (date.year() + 1, 1)
            } else {
                (date.year(), date.month() + 1)
            };
            NaiveDate::from_ymd_opt(y, m, 1)?.and_time(NaiveTime::MIN)
        }
        Precision::Day => local.checked_add_signed(TimeDelta::try_days(1)?)?,
        Precision::Minute => local.checked_add_signed(TimeDelta::try_minutes(1)?)?,
        Precision::Second => local.checked_add_signed(TimeDelta::try_seconds(1)?)?,
        Precision::Fraction(d) => {
            let unit = 10_i64.checked_pow(9_u32.checked_sub(d)?)?;
            local.checked_add_signed(TimeDelta::nanoseconds(unit))?
        }
    };
    // The inclusive upper bound is the next boundary minus one tick; the tick
    // is a millisecond unless the value itself is finer, so that the bound is
    // exact in microsecond-resolution stores.
    let tick = match precision {
        Precision::Fraction(d) if d > 6 => TimeDelta::nanoseconds(1),
        Precision::Fraction(d) if d > 3 => TimeDelta::microseconds(1),
        _ => TimeDelta::milliseconds(1),
    };
    let shift = TimeDelta::try_seconds(offset)?;
    let low = local.checked_sub_signed(shift)?.and_utc();
    let high = next
        .checked_sub_signed(tick)?
        .checked_sub_signed(shift)?
        .and_utc();
    Some((low, high))
}

/// `hh:mm[:ss[.fff]][Z|(+|-)hh:mm]` -> (time, precision, offset seconds).
fn parse_time(t: &str) -> Option<(NaiveTime, Precision, i64)> {
    let zone_at = t.find(['Z', '+', '-']).unwrap_or(t.len());
    let (clock, zone) = t.split_at(zone_at);
    let offset = match zone {
        "" => 0,
        "Z" => 0,
        z => {
            let (sign, rest) = z.split_at(1);
            let (h, m) = rest.split_once(':')?;
            let (h, m) = (num(h, 2)?, num(m, 2)?);
            if h > 14 || m > 59 {
                return None;
            }
            let secs = i64::from(h * 3600 + m * 60);
            if sign == "-" {
                -secs
            } else {
                secs
            }
        }
    };
    let mut parts = clock.split(':');
    let hour = num(parts.next()?, 2)?;
    let minute = num(parts.next()?, 2)?;
    let sec_text = parts.next();
    if parts.next().is_some() {
        return None;
    }
    let (sec, precision, nanos) = match sec_text {
        None => (0, Precision::Minute, 0),
        Some(s) => match s.split_once('.') {
            None => (num(s, 2)?, Precision::Second, 0),
            Some((whole, frac)) => {
                let digits = u32::try_from(frac.len()).ok()?;
                if digits == 0 || !frac.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                // Precision beyond nanoseconds is truncated.
                let d = digits.min(9);
                let head = frac.get(..d as usize)?;
                let n: u32 = head.parse().ok()?;
                let nanos = n.checked_mul(10_u32.checked_pow(9 - d)?)?;
                (num(whole, 2)?, Precision::Fraction(d), nanos)
            }
        },
    };
    // A leap second (`:60`, allowed by the R4 regex) is folded into :59.
    let sec = sec.min(59);
    let time = NaiveTime::from_hms_nano_opt(hour, minute, sec, nanos)?;
    Some((time, precision, offset))
}
