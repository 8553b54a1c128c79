//! History (http://hl7.org/fhir/R4/http.html#history): a Bundle of type history,
//! newest first, every entry with its request and response; `_count`, `_since`,
//! and a `_page` cursor for the next page that stays stable while new versions
//! are written (keyset paging on the sort key).

use base64::Engine as _;
use chrono::{DateTime, Utc};
use fhirgate_validate::IssueCode;

use super::{Engine, HistoryLevel, Outcome, Query, Services};
use crate::fhir::bundle::{raw, Bundle, Entry, EntryRequest, EntryResponse, Link};
use crate::fhir::error::FhirError;
use crate::fhir::preconditions::etag;
use crate::fhir::resource::instant;
use crate::store::resources::{HistoryCursor, Method};

pub const DEFAULT_COUNT: i64 = 50;
pub const MAX_COUNT: i64 = 1000;

fn bad(msg: &str) -> FhirError {
    FhirError::invalid(IssueCode::Invalid, None, msg)
}

fn encode_cursor(c: &HistoryCursor) -> String {
    let text = format!(
        "{}|{}|{}|{}",
        c.last_updated.timestamp_micros(),
        c.resource_type,
        c.id,
        c.version_id
    );
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

fn decode_cursor(s: &str) -> Option<HistoryCursor> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut it = text.splitn(4, '|');
    let micros: i64 = it.next()?.parse().ok()?;
    Some(HistoryCursor {
        last_updated: DateTime::<Utc>::from_timestamp_micros(micros)?,
        resource_type: it.next()?.to_owned(),
        id: it.next()?.to_owned(),
        version_id: it.next()?.parse().ok()?,
    })
}

impl Engine {
    pub(super) async fn history(
        &self,
        svc: &Services,
        base: &str,
        level: HistoryLevel,
        query: Query,
        raw_query: String,
    ) -> Result<Outcome, FhirError> {
        // A type without history (AuditEvents: an append-only log of one
        // version each) refuses it at every level but the system's.
        match &level {
            HistoryLevel::Instance(t, _) if !t.descriptor().has_history => {
                return Err(FhirError::MethodNotAllowed(format!("{t}s have no history")));
            }
            HistoryLevel::Type(t) if !t.descriptor().has_history => {
                return Err(FhirError::MethodNotAllowed(format!(
                    "{t}s have no history; search them instead"
                )));
            }
            _ => {}
        }
        let bundle = history_bundle(self, svc, base, level, &query, &raw_query).await?;
        Ok(Outcome::Document(bundle))
    }
}

async fn history_bundle(
    engine: &Engine,
    svc: &Services,
    base: &str,
    level: HistoryLevel,
    query: &Query,
    raw_query: &str,
) -> Result<Vec<u8>, FhirError> {
    let mut count = DEFAULT_COUNT;
    let mut since = None;
    let mut cursor = None;
    for (k, v) in query {
        match k.as_str() {
            "_count" => {
                count = v
                    .parse::<i64>()
                    .ok()
                    .filter(|c| *c >= 0)
                    .ok_or_else(|| bad("_count must be a non-negative integer"))?
                    .min(MAX_COUNT)
            }
            "_since" => {
                since = Some(
                    DateTime::parse_from_rfc3339(v)
                        .map_err(|_| bad("_since must be an instant, e.g. 2024-01-01T00:00:00Z"))?
                        .with_timezone(&Utc),
                )
            }
            "_page" => {
                cursor =
                    Some(decode_cursor(v).ok_or_else(|| bad("_page is not a valid page cursor"))?)
            }
            _ => {}
        }
    }
    let self_url = match &level {
        HistoryLevel::Instance(t, id) => format!("{base}/{t}/{id}/_history"),
        HistoryLevel::Type(t) => format!("{base}/{t}/_history"),
        HistoryLevel::System => format!("{base}/_history"),
    };
    // The whole history of an id that never existed here is 404, as its read
    // is (http.html#history names no answer for it; a resource "that does
    // not exist" is 404 throughout http.html): one answer for a made-up id
    // and for another tenant's (issue #18). Filtered by `_since` or paged,
    // an empty page is an empty Bundle.
    let whole_instance =
        matches!(level, HistoryLevel::Instance(..)) && since.is_none() && cursor.is_none();
    let (versions, total) = engine
        .read_only(svc, move |svc, conn| {
            svc.history(conn, &level.borrow(), since, cursor.as_ref(), count)
        })
        .await?;
    if whole_instance && total == 0 {
        return Err(FhirError::NotFound("no such resource".into()));
    }
    let mut bundle = Bundle::new("history");
    bundle.total = Some(total);
    bundle.link.push(Link {
        relation: "self",
        url: if raw_query.is_empty() {
            self_url.clone()
        } else {
            format!("{self_url}?{raw_query}")
        },
    });
    if versions.len() as i64 == count && count > 0 {
        if let Some(last) = versions.last() {
            let c = HistoryCursor {
                last_updated: last.last_updated,
                resource_type: last.resource_type.as_str().to_owned(),
                id: last.id.to_string(),
                version_id: last.version_id,
            };
            let mut params: Vec<(String, String)> = query
                .iter()
                .filter(|(k, _)| k != "_page")
                .cloned()
                .collect();
            params.push(("_page".into(), encode_cursor(&c)));
            let qs = serde_urlencoded::to_string(&params).unwrap_or_default();
            bundle.link.push(Link {
                relation: "next",
                url: format!("{self_url}?{qs}"),
            });
        }
    }
    for v in versions {
        let full_url = format!("{base}/{}/{}", v.resource_type, v.id);
        let (status, url) = match v.method {
            Method::Post => ("201 Created", v.resource_type.as_str().to_owned()),
            Method::Put | Method::Patch => (
                if v.version_id == 1 {
                    "201 Created"
                } else {
                    "200 OK"
                },
                format!("{}/{}", v.resource_type, v.id),
            ),
            Method::Delete => ("204 No Content", format!("{}/{}", v.resource_type, v.id)),
        };
        bundle.entry.push(Entry {
            full_url: Some(full_url),
            resource: v.body.map(|b| raw(b.0)).transpose()?,
            request: Some(EntryRequest {
                method: v.method.as_str(),
                url,
            }),
            response: Some(EntryResponse {
                status: status.into(),
                etag: Some(etag(v.version_id)),
                last_modified: Some(instant(v.last_updated)),
                ..EntryResponse::default()
            }),
            ..Entry::default()
        });
    }
    bundle.to_json()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = HistoryCursor {
            last_updated: Utc::now(),
            resource_type: "Patient".into(),
            id: "a.b-c".into(),
            version_id: 3,
        };
        let back = decode_cursor(&encode_cursor(&c)).unwrap();
        assert_eq!(back.id, "a.b-c");
        assert_eq!(back.version_id, 3);
        assert_eq!(
            back.last_updated.timestamp_micros(),
            c.last_updated.timestamp_micros()
        );
        assert!(decode_cursor("!!!").is_none());
        assert!(decode_cursor("YWJj").is_none());
    }
}
