//! Request bodies (HTTP only): read under the body limit, the parse budget
//! and the body timeout, then parsed as a resource in the request's format.

use actix_web::{web, HttpRequest};
use fhirgate_validate::IssueCode;
use futures_util::StreamExt;
use serde_json::{Map, Value};

use crate::fhir::error::FhirError;
use crate::fhir::format::{input_format, parse_body};
use crate::fhir::resource::{check_resource, IdRule};
use crate::fhir::AppState;
use crate::limits::budget::Charge;
use crate::model::ResourceType;

/// A request body as read, with its share of the parse budget
/// (`crate::limits::budget`), which it holds until dropped: keep it alive while
/// what was parsed from it is (handlers keep it to their end).
pub struct Body {
    bytes: web::Bytes,
    _charge: Charge,
}

impl std::ops::Deref for Body {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

/// Reads the request body, refusing it with 413 as soon as it passes the body
/// limit (before any of it is read, when Content-Length already says so), 503
/// when the parse budget has no room for it within its wait, and 408 when it
/// does not arrive within the body timeout (issue #15: a body shorter than its
/// Content-Length was waited on forever; actix times out request heads, not
/// bodies).
pub async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    state: &AppState,
) -> Result<Body, FhirError> {
    let limit = state.max_body;
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(FhirError::TooLarge(limit));
    }
    // A body of undeclared size (chunked) may grow to the limit: that is its share
    // until it is read.
    let budget = &state.parse_budget;
    let Some(mut charge) = budget.take(declared.unwrap_or(limit)).await else {
        return Err(FhirError::Busy(budget.retry_after_secs()));
    };
    let read = async {
        let mut body = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|_| {
                FhirError::invalid(
                    IssueCode::Structure,
                    None,
                    "the request body could not be read",
                )
            })?;
            if body.len() + chunk.len() > limit {
                return Err(FhirError::TooLarge(limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    };
    let bytes = tokio::time::timeout(state.body_timeout, read)
        .await
        .map_err(|_| FhirError::BodyTimeout(state.body_timeout.as_secs()))??;
    charge.shrink_to(bytes.len());
    Ok(Body {
        bytes,
        _charge: charge,
    })
}

/// Parses and validates a body as a resource of `rtype`.
#[tracing::instrument(skip_all, fields(rtype = %rtype))]
pub fn parse_resource(
    req: &HttpRequest,
    body: &[u8],
    rtype: ResourceType,
    state: &AppState,
    id_rule: IdRule<'_>,
) -> Result<Map<String, Value>, FhirError> {
    let format = input_format(req)?;
    let value = parse_body(format, body, state.max_json_nodes)?;
    let model = state.engine.model();
    let Value::Object(map) = value else {
        return Err(FhirError::invalid(
            IssueCode::Structure,
            None,
            "the body must be a JSON object",
        ));
    };
    check_resource(map, rtype, model, id_rule)
}
