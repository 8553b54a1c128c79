//! `GET [base]/.well-known/smart-configuration` (SMART App Launch 2.0.0,
//! conformance.html#using-well-known): the authorization server's endpoints
//! and the SMART capabilities it implements. Public, unauthenticated, always
//! `application/json` whatever the `Accept` header ("servers SHALL respond
//! with application/json"), cacheable for a few minutes.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::paths;

use crate::fhir::context::Site;

/// Seconds a client or cache may keep the document.
const MAX_AGE: u32 = 300;

/// The SMART capabilities (conformance.html#capabilities) this server
/// implements, each backed by code: `smart_style` adds `context-style`.
pub fn capabilities(smart_style: bool) -> Vec<&'static str> {
    let mut c = vec![
        // Launch modes: the `launch` parameter ($smart-launch) and standalone.
        "launch-ehr",
        "launch-standalone",
        // authorize.rs answers POST as well as GET.
        "authorize-post",
        // Client types: PKCE alone, client_secret_basic, private_key_jwt.
        "client-public",
        "client-confidential-symmetric",
        "client-confidential-asymmetric",
        // id_token with fhirUser, RS256, keys at jwks_uri.
        "sso-openid-connect",
        // need_patient_banner in every token response with a patient.
        "context-banner",
        // patient and encounter of an EHR launch; the standalone picker.
        "context-ehr-patient",
        "context-ehr-encounter",
        "context-standalone-patient",
        // Refresh tokens, and the scope grammars (auth/scopes.rs).
        "permission-offline",
        "permission-online",
        "permission-patient",
        "permission-user",
        "permission-v1",
        "permission-v2",
    ];
    if smart_style {
        c.push("context-style");
    }
    c
}

/// The document for a request that reached `base`: endpoints under the
/// base the client used; `issuer` the canonical one its id_tokens carry.
pub fn document(base: &str, issuer: &str, smart_style: bool) -> Value {
    let url = |p: &str| format!("{base}{p}");
    json!({
        "issuer": issuer,
        "jwks_uri": url(paths::JWKS),
        "authorization_endpoint": url(paths::AUTHORIZE),
        "token_endpoint": url(paths::TOKEN),
        "introspection_endpoint": url(paths::INTROSPECT),
        "revocation_endpoint": url(paths::REVOKE),
        // "authorization_code" (App Launch) and "client_credentials"
        // (Backend Services), the two the spec names.
        "grant_types_supported": ["authorization_code", "client_credentials"],
        // A public client sends its client_id alone (`none`, implicit).
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
        // backend-services.html: RS384 and ES384 assertions.
        "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
        "scopes_supported": [
            "openid", "fhirUser", "launch", "launch/patient",
            "offline_access", "online_access",
            "patient/*.rs", "patient/*.cruds", "user/*.rs", "user/*.cruds",
            "system/*.rs", "system/*.cruds",
            "patient/*.read", "user/*.read"
        ],
        "response_types_supported": ["code"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "subject_types_supported": ["public"],
        "capabilities": capabilities(smart_style),
        // "The S256 method SHALL be included in this list, and the plain
        // method SHALL NOT be included".
        "code_challenge_methods_supported": ["S256"]
    })
}

pub async fn get(req: HttpRequest, state: Site) -> HttpResponse {
    let base = match super::token::base_of(&req, &state) {
        Ok(b) => b,
        Err(e) => return e.response(),
    };
    let doc = document(
        &base,
        &state.authority.issuer,
        state.authority.settings.smart_style_url.is_some(),
    );
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, format!("public, max-age={MAX_AGE}")))
        // A public document: browser apps on other origins must read it.
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .content_type("application/json")
        .body(doc.to_string())
}

/// `GET [base]/.well-known/openid-configuration` (OpenID Connect Discovery
/// 1.0 section 4): SMART scopes-and-launch-context.html "Steps for using an
/// ID token" has the app "Perform a GET {issuer}/.well-known/openid-configuration"
/// to find the `jwks_uri` its id_token verifies against. The same
/// endpoints as the SMART document, in OpenID Provider Metadata terms.
pub fn openid_document(base: &str, issuer: &str) -> Value {
    let url = |p: &str| format!("{base}{p}");
    json!({
        "issuer": issuer,
        "authorization_endpoint": url(paths::AUTHORIZE),
        "token_endpoint": url(paths::TOKEN),
        "jwks_uri": url(paths::JWKS),
        "scopes_supported": ["openid", "fhirUser"],
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "fhirUser"],
        "code_challenge_methods_supported": ["S256"]
    })
}

pub async fn openid(req: HttpRequest, state: Site) -> HttpResponse {
    let base = match super::token::base_of(&req, &state) {
        Ok(b) => b,
        Err(e) => return e.response(),
    };
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, format!("public, max-age={MAX_AGE}")))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .content_type("application/json")
        .body(openid_document(&base, &state.authority.issuer).to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn openid_document_names_the_id_token_keys() {
        let d = super::openid_document("http://h/fhir", "http://h/fhir");
        let s = |k: &str| d.get(k).and_then(|v| v.as_str()).map(str::to_owned);
        assert_eq!(s("issuer").as_deref(), Some("http://h/fhir"));
        assert_eq!(s("jwks_uri").as_deref(), Some("http://h/fhir/auth/jwks"));
        let algs = d.get("id_token_signing_alg_values_supported");
        assert_eq!(algs, Some(&serde_json::json!(["RS256"])));
    }
}
