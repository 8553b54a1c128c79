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

pub(super) fn split_prefix(v: &str) -> (&str, &str) {
    let p = v.get(..2).unwrap_or("");
    if ["eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"].contains(&p) {
        (p, v.get(2..).unwrap_or(""))
    } else {
        ("eq", v)
    }
}

/// The range a search date denotes at its precision (search.html#date), by the
/// same rule as stored values.
pub(super) fn date_range(s: &str) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    fhirgate_search::date_range(s)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

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
        assert_eq!(split_prefix("ge2020"), ("ge", "2020"));
        assert_eq!(split_prefix("2020"), ("eq", "2020"));
    }
}
