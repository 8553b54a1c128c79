//! `POST [base]/$smart-launch`: how an EHR (or portal) starts an EHR launch
//! (app-launch.html#launch-app-ehr-launch). It sends `patient` (and
//! optionally `encounter`) as a form or JSON body with a bearer token of
//! this server that may read that patient through a `user/` or `system/`
//! scope (e.g. `user/Patient.r` or `system/Patient.rs`); it gets an opaque
//! `launch` id, valid five minutes, to open the app's launch URL with
//! (`?iss=[base]&launch=...`). The app passes it back at the authorize
//! endpoint with the `launch` scope, and its token carries that context.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use crate::auth::grant::Grant;
use crate::auth::scopes::{Context, Scope, Scopes};
use crate::fhir::engine::Principal;

use crate::fhir::context::Site;
use crate::model::ResourceId;
use crate::store::auth::grants;

/// How long a launch id may be used.
pub const TTL_SECS: i64 = 5 * 60;

/// A new opaque launch id (128 random bits, hex).
pub fn new_id() -> Result<String, openssl::error::ErrorStack> {
    let mut b = [0u8; 16];
    openssl::rand::rand_bytes(&mut b)?;
    Ok(hex::encode(b))
}

/// An RFC 6750 3.1 error answer.
fn refuse(status: StatusCode, error: &str, description: &str) -> HttpResponse {
    let mut b = HttpResponse::build(status);
    b.insert_header((header::CACHE_CONTROL, "no-store"));
    if status == StatusCode::UNAUTHORIZED {
        b.insert_header((
            header::WWW_AUTHENTICATE,
            format!("Bearer realm=\"fhirgate\", error=\"{error}\""),
        ));
    }
    b.json(json!({"error": error, "error_description": description}))
}

/// `patient` and `encounter` from a form or JSON body.
fn fields(req: &HttpRequest, body: &[u8]) -> Option<(String, Option<String>)> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let pairs: Vec<(String, String)> = if ct == "application/json" {
        let v: Value = serde_json::from_slice(body).ok()?;
        ["patient", "encounter"]
            .iter()
            .filter_map(|k| Some(((*k).to_owned(), v.get(*k)?.as_str()?.to_owned())))
            .collect()
    } else {
        serde_urlencoded::from_bytes(body).ok()?
    };
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    Some((get("patient")?, get("encounter").filter(|e| !e.is_empty())))
}

pub async fn post(req: HttpRequest, state: Site, body: web::Bytes) -> HttpResponse {
    let Ok(base) = super::token::base_of(&req, &state) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the Host is not served",
        );
    };
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(s, _)| s.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_owned());
    let Some(token) = token else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "invalid_request",
            "a bearer token is required",
        );
    };
    let claims = match state.authority.verify(&token, Some(&base)).await {
        Ok(c) => c,
        Err(e) => return refuse(StatusCode::UNAUTHORIZED, "invalid_token", &e.to_string()),
    };
    let Some((patient, encounter)) = fields(&req, &body) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "patient is required",
        );
    };
    if ResourceId::parse(&patient).is_none()
        || encounter
            .as_deref()
            .is_some_and(|e| ResourceId::parse(e).is_none())
    {
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "not a valid FHIR id",
        );
    }
    // Only the token's user/ and system/ scopes count: a patient/ scope
    // reads one patient's data, not whom to launch an app for.
    let mut grant: Grant = claims.grant();
    grant.scopes = Scopes(
        grant
            .scopes
            .0
            .into_iter()
            .filter(|s| matches!(s, Scope::Resource(r) if r.context != Context::Patient))
            .collect(),
    );
    grant.patient = None;
    let who = Principal::from_grant(grant);
    if !super::picker::can_read(&state, &req, who, &base, &patient).await {
        return refuse(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "the token may not read this patient (user/ or system/ Patient read needed)",
        );
    }
    let Ok(id) = new_id() else {
        return refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "no randomness",
        );
    };
    let (t, l, by) = (
        state.tenant.as_str().to_owned(),
        id.clone(),
        claims.sub.clone(),
    );
    let expires = chrono::Utc::now() + chrono::Duration::seconds(TTL_SECS);
    let stored = state
        .engine
        .db()
        .run(move |conn| {
            grants::insert_launch(conn, &t, &l, &patient, encounter.as_deref(), &by, expires)
        })
        .await;
    if let Err(e) = stored {
        tracing::error!(error = %e, "storing an EHR launch");
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "try again",
        );
    }
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({"launch": id, "expires_in": TTL_SECS}))
}
