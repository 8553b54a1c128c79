//! HL7 v2 DTM (v2.5.1 2A.3.22; also the first component of TS, 2A.3.77) to FHIR
//! `date`, `dateTime` and `instant` (http://hl7.org/fhir/R4/datatypes.html), after
//! the IG's DTM[dateTime] data type map
//! (http://hl7.org/fhir/uv/v2mappings/ConceptMap/datatype-dtm-to-datetime).
//!
//! `YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]`. FHIR is stricter than v2:
//! a dateTime with a time needs minutes, seconds and an offset, so
//! - hours without minutes get `:00` minutes, and seconds `:00` when absent (the
//!   value stays the same instant; FHIR cannot say "to the hour");
//! - an offset in the message is kept as is; a time without one gets the offset
//!   configured for the sending facility (`MapOptions`), which is UTC by default;
//! - a date alone stays a date (FHIR forbids an offset without a time).
//!
//! Calendar validity (month 1-12, day in month with leap years, hour < 24 ...)
//! is checked here so that no invalid FHIR value is ever produced.

/// What is wrong with a DTM; the caller turns it into a 102 with a location.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtmError {
    /// Not of the DTM form (wrong length, not digits ...).
    Syntax,
    /// Of the form, but no such date or time (month 13, 30 February, 25:00).
    Calendar,
    /// The offset is out of range (`+1500`, `+0260`).
    Offset,
    /// An instant was needed (a date and a time) but only a date was given.
    NoTime,
}

impl DtmError {
    pub fn describe(&self) -> &'static str {
        match self {
            DtmError::Syntax => "is not a DTM (YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ])",
            DtmError::Calendar => "is not a valid calendar date or time",
            DtmError::Offset => "has a time zone offset out of range",
            DtmError::NoTime => "needs a date and a time here",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Time {
    hour: u32,
    minute: u32,
    second: u32,
    /// Fraction digits after the point, without it; may be empty.
    frac: String,
}

/// A parsed DTM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dtm {
    year: i64,
    month: Option<u32>,
    day: Option<u32>,
    time: Option<Time>,
    /// Offset from UTC in minutes, when the message gave one.
    offset: Option<i32>,
}

/// FHIR's offset range (datatypes.html#dateTime regex): -14:00 ... +14:00.
pub fn valid_offset(minutes: i32) -> bool {
    (-14 * 60..=14 * 60).contains(&minutes)
}

/// `+hh:mm` / `-hh:mm`.
pub fn format_offset(minutes: i32) -> String {
    let sign = if minutes < 0 { '-' } else { '+' };
    let m = minutes.unsigned_abs();
    format!("{sign}{:02}:{:02}", m / 60, m % 60)
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Parse a DTM (surrounding blanks ignored).
pub fn parse(raw: &str) -> Result<Dtm, DtmError> {
    let s = raw.trim();
    // The offset sign can only follow the digits (a year is never signed).
    let (body, offset) = match s
        .char_indices()
        .skip(1)
        .find(|(_, c)| *c == '+' || *c == '-')
    {
        Some((i, _)) => {
            let (b, o) = s.split_at(i);
            (b, Some(o))
        }
        None => (s, None),
    };
    let (main, frac) = match body.split_once('.') {
        Some((m, f)) => (m, Some(f)),
        None => (body, None),
    };
    if !main.bytes().all(|b| b.is_ascii_digit()) || !matches!(main.len(), 4 | 6 | 8 | 10 | 12 | 14)
    {
        return Err(DtmError::Syntax);
    }
    if let Some(f) = frac {
        if main.len() != 14 || f.is_empty() || f.len() > 4 || digits(f).is_none() {
            return Err(DtmError::Syntax);
        }
    }
    let part = |from: usize, to: usize| main.get(from..to).and_then(digits);
    let year = i64::from(part(0, 4).ok_or(DtmError::Syntax)?);
    let month = part(4, 6);
    let day = part(6, 8);
    let hour = part(8, 10);
    let minute = part(10, 12);
    let second = part(12, 14);
    // FHIR's year regex excludes 0000.
    if year == 0 {
        return Err(DtmError::Calendar);
    }
    if let Some(m) = month {
        if !(1..=12).contains(&m) {
            return Err(DtmError::Calendar);
        }
        if let Some(d) = day {
            if d == 0 || d > days_in_month(year, m) {
                return Err(DtmError::Calendar);
            }
        }
    }
    let time = match hour {
        None => None,
        Some(h) => {
            let (mi, se) = (minute.unwrap_or(0), second.unwrap_or(0));
            if h > 23 || mi > 59 || se > 59 {
                return Err(DtmError::Calendar);
            }
            Some(Time {
                hour: h,
                minute: mi,
                second: se,
                frac: frac.unwrap_or("").to_owned(),
            })
        }
    };
    let offset = match offset {
        None => None,
        Some(o) => Some(parse_offset(o)?),
    };
    Ok(Dtm {
        year,
        month,
        day,
        time,
        offset,
    })
}

/// `+ZZZZ` / `-ZZZZ` to minutes.
fn parse_offset(o: &str) -> Result<i32, DtmError> {
    let (sign, rest) = match o.split_at_checked(1) {
        Some(("+", r)) => (1, r),
        Some(("-", r)) => (-1, r),
        _ => return Err(DtmError::Syntax),
    };
    if rest.len() != 4 {
        return Err(DtmError::Syntax);
    }
    let hh = rest.get(0..2).and_then(digits).ok_or(DtmError::Syntax)?;
    let mm = rest.get(2..4).and_then(digits).ok_or(DtmError::Syntax)?;
    if mm > 59 {
        return Err(DtmError::Offset);
    }
    let total = sign * i32::try_from(hh * 60 + mm).map_err(|_| DtmError::Offset)?;
    if !valid_offset(total) {
        return Err(DtmError::Offset);
    }
    Ok(total)
}

impl Dtm {
    pub fn has_time(&self) -> bool {
        self.time.is_some()
    }

    /// FHIR `date`: `YYYY`, `YYYY-MM` or `YYYY-MM-DD` (any time is dropped; the
    /// date is the one written in the message, i.e. local to its offset).
    pub fn date(&self) -> String {
        match (self.month, self.day) {
            (Some(m), Some(d)) => format!("{:04}-{m:02}-{d:02}", self.year),
            (Some(m), None) => format!("{:04}-{m:02}", self.year),
            _ => format!("{:04}", self.year),
        }
    }

    /// FHIR `dateTime`; `default_offset` (minutes) applies to a time given
    /// without an offset.
    pub fn datetime(&self, default_offset: i32) -> String {
        match &self.time {
            None => self.date(),
            Some(t) => {
                let frac = if t.frac.is_empty() {
                    String::new()
                } else {
                    format!(".{}", t.frac)
                };
                format!(
                    "{}T{:02}:{:02}:{:02}{frac}{}",
                    self.date(),
                    t.hour,
                    t.minute,
                    t.second,
                    format_offset(self.offset.unwrap_or(default_offset))
                )
            }
        }
    }

    /// FHIR `instant` (Appointment.start/end): needs a full date and a time.
    pub fn instant(&self, default_offset: i32) -> Result<String, DtmError> {
        if self.day.is_none() || self.time.is_none() {
            return Err(DtmError::NoTime);
        }
        Ok(self.datetime(default_offset))
    }

    /// Seconds since the epoch (UTC), for a value with a full date and a time.
    pub fn epoch_seconds(&self, default_offset: i32) -> Result<i64, DtmError> {
        let (Some(m), Some(d), Some(t)) = (self.month, self.day, &self.time) else {
            return Err(DtmError::NoTime);
        };
        let local = days_from_civil(self.year, m, d) * 86_400
            + i64::from(t.hour * 3600 + t.minute * 60 + t.second);
        Ok(local - i64::from(self.offset.unwrap_or(default_offset)) * 60)
    }

    /// The same wall clock moved by `seconds`, keeping its offset (or taking
    /// `default_offset` when it had none), for an end computed from a duration.
    pub fn plus_seconds(&self, seconds: i64, default_offset: i32) -> Result<Dtm, DtmError> {
        let (Some(m), Some(d), Some(t)) = (self.month, self.day, &self.time) else {
            return Err(DtmError::NoTime);
        };
        let local = (days_from_civil(self.year, m, d) * 86_400
            + i64::from(t.hour * 3600 + t.minute * 60 + t.second))
        .checked_add(seconds)
        .ok_or(DtmError::Calendar)?;
        let (y, mo, da) = civil_from_days(local.div_euclid(86_400));
        let secs = local.rem_euclid(86_400);
        if !(1..=9999).contains(&y) {
            return Err(DtmError::Calendar);
        }
        Ok(Dtm {
            year: y,
            month: Some(mo),
            day: Some(da),
            time: Some(Time {
                hour: (secs / 3600) as u32,
                minute: (secs % 3600 / 60) as u32,
                second: (secs % 60) as u32,
                frac: t.frac.clone(),
            }),
            offset: Some(self.offset.unwrap_or(default_offset)),
        })
    }
}

#[cfg(test)]
#[path = "dtm_tests.rs"]
mod tests;
