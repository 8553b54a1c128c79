//! Conditional read (http://hl7.org/fhir/R4/http.html#cread): "Clients may use
//! the If-Modified-Since, or If-None-Match HTTP header on a read request", and
//! the server answers 304 Not Modified when the content is unchanged. The same
//! preconditions answer GET entries of transactions and batches
//! (Bundle.entry.request.ifNoneMatch, ifModifiedSince). Their semantics are
//! HTTP's (RFC 7232).

use std::str::FromStr;

use actix_web::http::header::HttpDate;
use chrono::{DateTime, Utc};
use fhirgate_validate::IssueCode;

use super::error::FhirError;

/// The weak ETag of a version (http://hl7.org/fhir/R4/http.html#versioning).
pub fn etag(version: i32) -> String {
    format!("W/\"{version}\"")
}

pub fn bad_if_match(value: &str) -> FhirError {
    FhirError::invalid(
        IssueCode::Value,
        None,
        format!(
            "If-Match must be an ETag like W/\"3\", not {:?}",
            value.chars().take(32).collect::<String>()
        ),
    )
}

/// Parses `W/"3"` or `"3"` (http://hl7.org/fhir/R4/http.html#concurrency).
pub fn parse_etag(value: &str) -> Option<i32> {
    let v = value.trim();
    let v = v.strip_prefix("W/").unwrap_or(v);
    v.strip_prefix('"')?.strip_suffix('"')?.parse().ok()
}

/// Whether a read with these preconditions is answered 304 rather than with
/// the resource at `version`, last updated at `last_updated`. RFC 7232 §3.3:
/// "A recipient MUST ignore If-Modified-Since if the request contains an
/// If-None-Match header field".
pub fn not_modified(
    if_none_match: Option<&str>,
    if_modified_since: Option<DateTime<Utc>>,
    version: i32,
    last_updated: DateTime<Utc>,
) -> bool {
    match if_none_match {
        Some(field) => none_match_fails(field, version),
        // §3.3: false (304) "if the selected representation's last
        // modification date is earlier or equal to the date provided".
        None => if_modified_since.is_some_and(|since| last_updated <= since),
    }
}

/// RFC 7232 §3.2: If-None-Match is false (so a GET gets 304) when it is `*`
/// and the resource exists, or when one of its entity-tags matches the current
/// one by the weak comparison (§2.3.2: the opaque tags are equal, `W/` aside).
fn none_match_fails(field: &str, version: i32) -> bool {
    let field = field.trim();
    if field == "*" {
        return true;
    }
    let ours = version.to_string();
    let mut rest = field;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_ascii_whitespace());
        let tag = rest.strip_prefix("W/").unwrap_or(rest);
        let Some(opaque) = tag.strip_prefix('"') else {
            return false;
        };
        let Some(end) = opaque.find('"') else {
            return false;
        };
        if opaque.get(..end) == Some(ours.as_str()) {
            return true;
        }
        rest = opaque.get(end + 1..).unwrap_or("");
    }
}

/// An If-Modified-Since header: an HTTP-date in any of the three formats
/// recipients must accept (RFC 7231 §7.1.1.1); None when it is not one, which
/// RFC 7232 §3.3 says to ignore.
pub fn http_date(field: &str) -> Option<DateTime<Utc>> {
    let t = HttpDate::from_str(field.trim()).ok()?;
    Some(std::time::SystemTime::from(t).into())
}

/// `t` to whole seconds: HTTP-dates have no finer resolution, and the
/// Last-Modified a client sends back was cut to seconds the same way.
pub fn whole_seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn etags() {
        assert_eq!(parse_etag("W/\"3\""), Some(3));
        assert_eq!(parse_etag("\"12\""), Some(12));
        assert_eq!(parse_etag("3"), None);
        assert_eq!(parse_etag("W/\"x\""), None);
        assert_eq!(etag(7), "W/\"7\"");
    }

    #[test]
    fn if_none_match_lists_and_weak_comparison() {
        for (field, hit) in [
            ("W/\"3\"", true),
            ("\"3\"", true),
            ("W/\"1\", W/\"3\"", true),
            ("W/\"1\",\"3\"", true),
            ("*", true),
            ("W/\"33\"", false),
            ("W/\"1\"", false),
            ("3", false),
            ("W/\"3", false),
        ] {
            assert_eq!(none_match_fails(field, 3), hit, "{field}");
        }
    }

    #[test]
    fn if_modified_since_is_inclusive_and_second_grained() {
        let t = DateTime::parse_from_rfc3339("1994-11-06T08:49:37.250Z")
            .unwrap()
            .with_timezone(&Utc);
        let header = http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(http_date("Sunday, 06-Nov-94 08:49:37 GMT"), Some(header));
        assert_eq!(http_date("Sun Nov  6 08:49:37 1994"), Some(header));
        assert_eq!(http_date("yesterday"), None);
        assert!(not_modified(None, Some(header), 1, whole_seconds(t)));
        assert!(!not_modified(None, Some(header), 1, t));
        assert!(!not_modified(
            Some("W/\"2\""),
            Some(header),
            1,
            whole_seconds(t)
        ));
        assert!(!not_modified(None, None, 1, t));
    }
}
