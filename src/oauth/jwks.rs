//! `GET [base]/auth/jwks`: the public keys that sign access tokens and
//! id_tokens (RFC 7517 section 5, a JWK Set of bare RSA keys, as
//! scopes-and-launch-context.html asks of `sso-openid-connect`): the active
//! key and every retired one whose tokens may still be alive.

use actix_web::http::header;
use actix_web::HttpResponse;

use crate::fhir::context::Site;

/// Seconds a client may cache the set; after a rotation it meets an unknown
/// `kid` and fetches it again.
const MAX_AGE: u32 = 300;

pub async fn get(state: Site) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, format!("public, max-age={MAX_AGE}")))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .content_type("application/json")
        .body(state.authority.jwks().to_string())
}
