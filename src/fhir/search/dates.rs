//! Date search values: prefixes and the range a value denotes at its precision
//! (http://hl7.org/fhir/R4/search.html#date, #prefix).

use chrono::{DateTime, Utc};
use fhirgate_validate::IssueCode;

use crate::fhir::error::FhirError;

/// The range a search value of `c` denotes, or a 400 naming the parameter.
pub(super) fn search_range(
    param: &str,
    date: &str,
) -> Result<(DateTime<Utc>, DateTime<Utc>), FhirError> {
    date_range(date).ok_or_else(|| {
        FhirError::invalid(
            IssueCode::Value,
            None,
            format!("{param}: not a FHIR date/dateTime"),
        )
    })
}

/// A comparison prefix of a number, date or quantity value (search.html#prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefix {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    Sa,
    Eb,
    Ap,
}

/// The prefix of `v` (`eq` when it has none) and the value after it.
pub(super) fn split_prefix(v: &str) -> (Prefix, &str) {
    let prefix = match v.get(..2).unwrap_or("") {
        "eq" => Prefix::Eq,
        "ne" => Prefix::Ne,
        "gt" => Prefix::Gt,
        "lt" => Prefix::Lt,
        "ge" => Prefix::Ge,
        "le" => Prefix::Le,
        "sa" => Prefix::Sa,
        "eb" => Prefix::Eb,
        "ap" => Prefix::Ap,
        _ => return (Prefix::Eq, v),
    };
    (prefix, v.get(2..).unwrap_or(""))
}

/// A date search value: `[prefix]date`, with the range the date denotes at
/// its precision (search.html#date).
#[derive(Debug, Clone)]
pub struct DateValue {
    pub prefix: Prefix,
    /// The date as written (after the prefix): PHI dates compare its blind index.
    pub text: String,
    pub lo: DateTime<Utc>,
    pub hi: DateTime<Utc>,
}

impl DateValue {
    /// Parses `[prefix]date`; a 400 naming `param` when the date is not one.
    pub(super) fn parse(param: &str, v: &str) -> Result<Self, FhirError> {
        let (prefix, date) = split_prefix(v);
        Self::of(param, prefix, date)
    }

    /// The value of `date` (already split from `prefix`).
    pub(super) fn of(param: &str, prefix: Prefix, date: &str) -> Result<Self, FhirError> {
        let (lo, hi) = search_range(param, date)?;
        Ok(Self {
            prefix,
            text: date.to_owned(),
            lo,
            hi,
        })
    }
}

/// The range a search date denotes at its precision (search.html#date), by the
/// same rule as stored values.
pub(super) fn date_range(s: &str) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    fhirgate_search::date_range(s)
}

/// The range `ap` accepts for a search value denoting `lo..=hi`, at `now`:
/// search.html#prefix recommends, for a date, a margin of "10% of the gap
/// between now and the date". The gap is measured from the nearer end of the
/// value's range (none when the range holds now), and the margin widens both
/// ends, so `ap2016` searched in 2026 accepts about 2015-01 to 2017-12
/// (docs/architecture.md, search).
pub(super) fn approximately(
    lo: DateTime<Utc>,
    hi: DateTime<Utc>,
    now: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let gap = if now < lo {
        lo - now
    } else if now > hi {
        now - hi
    } else {
        chrono::TimeDelta::zero()
    };
    let margin = gap / 10;
    (
        lo.checked_sub_signed(margin).unwrap_or(lo),
        hi.checked_add_signed(margin).unwrap_or(hi),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ap_widens_by_a_tenth_of_the_gap_to_now() {
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        // The day 2016-01-01 ends 3652 days before now: a margin of 365.2 days
        // (2014-12-31T19:12 to 2017-01-01T04:48).
        let (lo, hi) = date_range("2016-01-01").unwrap();
        let (alo, ahi) = approximately(lo, hi, now);
        assert_eq!(alo.to_rfc3339(), "2014-12-31T19:11:59.999900+00:00");
        assert_eq!(ahi.date_naive().to_string(), "2017-01-01");
        // A future date: the gap is measured the other way.
        let (lo, hi) = date_range("2036-01-01").unwrap();
        let (alo, ahi) = approximately(lo, hi, now);
        assert_eq!(alo.to_rfc3339(), "2034-12-31T19:12:00+00:00");
        assert_eq!(ahi.date_naive().to_string(), "2037-01-01");
        // A range that holds now gets no margin.
        let (lo, hi) = date_range("2026").unwrap();
        assert_eq!(approximately(lo, hi, now), (lo, hi));
    }

    #[test]
    fn date_ranges_follow_precision() {
        let (lo, hi) = date_range("1980").unwrap();
        assert_eq!(lo.to_rfc3339(), "1980-01-01T00:00:00+00:00");
        assert_eq!(hi.to_rfc3339(), "1980-12-31T23:59:59.999+00:00");
        let (lo, hi) = date_range("2000-02").unwrap();
        assert_eq!(lo.to_rfc3339(), "2000-02-01T00:00:00+00:00");
        assert_eq!(hi.to_rfc3339(), "2000-02-29T23:59:59.999+00:00");
        assert!(date_range("1980-02-30").is_none());
        assert!(date_range("garbage").is_none());
        // Seconds precision: the whole second (search.html#date).
        let (lo, hi) = date_range("2023-06-15T10:30:00Z").unwrap();
        assert_eq!(lo.to_rfc3339(), "2023-06-15T10:30:00+00:00");
        assert_eq!(hi.to_rfc3339(), "2023-06-15T10:30:00.999+00:00");
        assert_eq!(split_prefix("ge2020"), (Prefix::Ge, "2020"));
        assert_eq!(split_prefix("2020"), (Prefix::Eq, "2020"));
        assert_eq!(split_prefix("xx2020"), (Prefix::Eq, "xx2020"));
    }
}
