//! The FHIR boundary error.
//!
//! Policy: every failure a FHIR client can see is a [`FhirError`], and every
//! `FhirError` becomes an OperationOutcome with the status the specification
//! names (http://hl7.org/fhir/R4/http.html#2.21.0.17). Client mistakes are 4xx
//! and say what was wrong and where (issue.expression); server faults are 5xx,
//! say nothing about internals, and are logged (without PHI) for the operator.
//! Nothing on a request path returns anyhow::Error or panics.

use actix_web::http::StatusCode;
use fhirgate_validate::{Issue, IssueCode};
use serde_json::{json, Value};

use crate::store::StoreError;

#[derive(Debug, Clone)]
pub enum FhirError {
    /// 400: malformed or invalid content, bad parameters.
    Invalid(Vec<Issue>),
    /// 401: no bearer token, or one that is not valid (RFC 6750 section 3.1):
    /// the `error` code (none when the token is missing) and a description.
    Unauthorized {
        error: Option<&'static str>,
        description: String,
    },
    /// 403: the acting principal may not make this access (the engine's
    /// decision point, src/fhir/engine/access.rs).
    Forbidden(String),
    /// 404: no such resource, type or endpoint.
    NotFound(String),
    /// 405: the interaction is not supported on this endpoint.
    MethodNotAllowed(String),
    /// 406: no acceptable representation (Accept / _format).
    NotAcceptable(String),
    /// 409: the resource changed under a concurrent request (http.html#concurrency
    /// keeps 409 and 412 for version conflicts).
    Conflict(String),
    /// 422: refused by a business rule of the gateway's, not an R4 invariant
    /// (a double booking): http.html#2.21.0.17 "422 Unprocessable Entity - the
    /// proposed resource violated applicable FHIR profiles or server business
    /// rules".
    BusinessRule(String),
    /// 410: the resource was deleted.
    Gone(String),
    /// 412: If-Match / conditional criteria not satisfied.
    PreconditionFailed(String),
    /// 413: the request body is over the configured limit.
    TooLarge(usize),
    /// 413: a transaction or batch with more entries than the configured limit.
    TooManyEntries(usize),
    /// 413: a resource with more JSON values than the configured limit.
    TooManyNodes(usize),
    /// 408: the request body did not arrive within the body timeout (seconds).
    BodyTimeout(u64),
    /// 503: the parse budget stayed full; retry after this many seconds.
    Busy(u64),
    /// 429: the tenant's or the client's rate limit is spent (issue #18,
    /// src/limits/rate.rs); retry after this many seconds (at least 1). RFC
    /// 6585 section 4: "the user has sent too many requests in a given amount
    /// of time", answered with a Retry-After.
    TooManyRequests(u64),
    /// 422: a PATCH that cannot be applied, or whose result is not valid R4.
    UnprocessablePatch(String),
    /// 415: unsupported Content-Type.
    UnsupportedMediaType(String),
    /// 422: well-formed but refused by a business rule (an R4 invariant).
    Unprocessable(Vec<fhirgate_validate::Violation>),
    /// 500: a fault on our side; the message is logged, not returned.
    Internal(String),
    /// 503: the database is unavailable.
    Unavailable(String),
    /// 503: PostgreSQL aborted the transaction for a deadlock or a serialization
    /// failure with a concurrent one; running it again is the remedy
    /// (https://www.postgresql.org/docs/15/mvcc-serialization-failure-handling.html).
    Transient(String),
}

impl FhirError {
    pub fn invalid(
        code: IssueCode,
        expression: Option<&str>,
        diagnostics: impl Into<String>,
    ) -> Self {
        FhirError::Invalid(vec![Issue {
            code,
            expression: expression.map(str::to_owned),
            diagnostics: diagnostics.into(),
        }])
    }

    /// The `WWW-Authenticate` challenge of a 401 (RFC 6750 section 3).
    pub fn bearer_challenge(&self) -> Option<String> {
        let FhirError::Unauthorized { error, description } = self else {
            return None;
        };
        // Quoted-string: the description is ours, but keep it to safe characters.
        let clean: String = description
            .chars()
            .filter(|c| c.is_ascii_graphic() && *c != '"' && *c != '\\' || *c == ' ')
            .collect();
        Some(match error {
            None => "Bearer realm=\"fhirgate\"".to_owned(),
            Some(code) => format!(
                "Bearer realm=\"fhirgate\", error=\"{code}\", error_description=\"{clean}\""
            ),
        })
    }

    /// The database could not be reached (not a deadlock: that one is retried).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, FhirError::Unavailable(_))
    }

    /// Seconds a client should wait before retrying a 503 or a 429 (`Retry-After`,
    /// https://www.rfc-editor.org/rfc/rfc9110#name-retry-after): a restart of
    /// PostgreSQL takes seconds; a deadlock victim may retry at once.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            FhirError::Unavailable(_) => Some(5),
            FhirError::Transient(_) => Some(1),
            FhirError::Busy(secs) => Some(*secs),
            FhirError::TooManyRequests(secs) => Some((*secs).max(1)),
            _ => None,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            FhirError::Invalid(_) => StatusCode::BAD_REQUEST,
            FhirError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            FhirError::Forbidden(_) => StatusCode::FORBIDDEN,
            FhirError::NotFound(_) => StatusCode::NOT_FOUND,
            FhirError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            FhirError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            FhirError::Conflict(_) => StatusCode::CONFLICT,
            FhirError::Gone(_) => StatusCode::GONE,
            FhirError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            FhirError::TooLarge(_) | FhirError::TooManyEntries(_) | FhirError::TooManyNodes(_) => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            FhirError::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            FhirError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            FhirError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            FhirError::UnprocessablePatch(_) => StatusCode::UNPROCESSABLE_ENTITY,
            FhirError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            FhirError::Unprocessable(_) | FhirError::BusinessRule(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            FhirError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            FhirError::Unavailable(_) | FhirError::Transient(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The OperationOutcome (http://hl7.org/fhir/R4/operationoutcome.html); issue
    /// codes from http://hl7.org/fhir/R4/valueset-issue-type.html.
    pub fn to_operation_outcome(&self) -> Value {
        let single = |code: &str, text: &str| {
            vec![json!({"severity": "error", "code": code, "diagnostics": text})]
        };
        let issues: Vec<Value> = match self {
            FhirError::Unprocessable(list) => list
                .iter()
                .map(|v| json!({"severity": "error", "code": "invariant", "diagnostics": format!("{}: {}", v.key, v.text), "expression": [v.expression]}))
                .collect(),
            FhirError::Invalid(list) => list
                .iter()
                .map(|i| {
                    let mut v = json!({"severity": "error", "code": i.code.as_str(), "diagnostics": i.diagnostics});
                    if let (Some(expr), Some(obj)) = (&i.expression, v.as_object_mut()) {
                        obj.insert("expression".into(), json!([expr]));
                    }
                    v
                })
                .collect(),
            FhirError::Unauthorized { description, .. } => single("login", description),
            FhirError::Forbidden(m) => single("forbidden", m),
            FhirError::NotFound(m) => single("not-found", m),
            FhirError::MethodNotAllowed(m) | FhirError::NotAcceptable(m) | FhirError::UnsupportedMediaType(m) => {
                single("not-supported", m)
            }
            FhirError::Conflict(m) | FhirError::PreconditionFailed(m) => single("conflict", m),
            FhirError::Gone(m) => single("deleted", m),
            FhirError::BusinessRule(m) => single("business-rule", m),
            FhirError::UnprocessablePatch(m) => single("processing", m),
            FhirError::TooManyEntries(limit) => single(
                "too-costly",
                &format!("the Bundle has more entries than the limit of {limit}"),
            ),
            FhirError::TooManyNodes(limit) => single(
                "too-costly",
                &fhirgate_validate::too_many_message(*limit),
            ),
            FhirError::BodyTimeout(secs) => single(
                "timeout",
                &format!("the request body did not arrive within {secs} s"),
            ),
            FhirError::Busy(_) => single(
                "throttled",
                "the server is parsing as many request bodies as its memory budget allows; retry later",
            ),
            // valueset-issue-type: "throttled", "the system is not prepared to
            // handle this request due to load management".
            FhirError::TooManyRequests(secs) => single(
                "throttled",
                &format!(
                    "the rate limit of this tenant or client is spent; retry after {} s",
                    (*secs).max(1)
                ),
            ),
            FhirError::TooLarge(limit) => single(
                "too-long",
                &format!("request body is larger than the limit of {limit} bytes"),
            ),
            FhirError::Internal(_) => single("exception", "internal server error; the operator's log has the details"),
            FhirError::Unavailable(_) => single("transient", "the database is unavailable; retry later"),
            FhirError::Transient(_) => single(
                "transient",
                "the request met a concurrent one (deadlock); retry it",
            ),
        };
        json!({"resourceType": "OperationOutcome", "issue": issues})
    }
}

impl From<StoreError> for FhirError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Pool(m) => FhirError::Unavailable(m),
            other if other.is_unavailable() => FhirError::Unavailable(other.to_string()),
            other if other.is_retryable() => FhirError::Transient(other.to_string()),
            other => FhirError::Internal(other.to_string()),
        }
    }
}

impl From<diesel::result::Error> for FhirError {
    fn from(e: diesel::result::Error) -> Self {
        StoreError::from(e).into()
    }
}

impl std::fmt::Display for FhirError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.status())
    }
}
