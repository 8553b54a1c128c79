//! Cross-site request forgery protection of the authorization pages' forms
//! (RFC 6749 10.12; OWASP "Signed Double-Submit Cookie"): each authorization
//! request gets a random value, set as a `SameSite=Strict; HttpOnly` cookie
//! (`Secure` over TLS) and sealed into the flow (flow.rs) its forms carry.
//! A form is accepted only when the cookie the browser sends equals the
//! sealed value: another site can neither read the cookie nor forge a sealed
//! flow, and a flow started by someone else carries their value, not the
//! victim's (which also defeats login CSRF).

use actix_web::http::header;
use actix_web::HttpRequest;

pub const COOKIE: &str = "fhirgate_csrf";

/// How long the cookie lives (the flow itself expires sooner, flow.rs).
const MAX_AGE_SECS: u32 = 30 * 60;

/// A fresh random value (32 bytes, hex).
pub fn new_token() -> Result<String, openssl::error::ErrorStack> {
    let mut b = [0u8; 32];
    openssl::rand::rand_bytes(&mut b)?;
    Ok(hex::encode(b))
}

/// The `Set-Cookie` value for `token`, limited to the pages' path under the
/// FHIR base (`base_path` + `/auth`).
pub fn set_cookie(token: &str, base_path: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{COOKIE}={token}; Path={base_path}/auth; Max-Age={MAX_AGE_SECS}; HttpOnly; SameSite=Strict{secure}"
    )
}

/// The cookie's value on `req`, if sent.
pub fn from_request(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Constant-time equality (the comparison must not tell how much matched).
pub fn matches(expected: &str, got: &str) -> bool {
    expected.len() == got.len() && openssl::memcmp::eq(expected.as_bytes(), got.as_bytes())
}

/// The path of a base URL (`https://host/fhir` -> `/fhir`).
pub fn path_of(base: &str) -> &str {
    let rest = base.split_once("://").map_or(base, |(_, r)| r);
    rest.find('/').and_then(|i| rest.get(i..)).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_attributes() {
        let c = set_cookie("abc", "/fhir", true);
        assert_eq!(
            c,
            "fhirgate_csrf=abc; Path=/fhir/auth; Max-Age=1800; HttpOnly; SameSite=Strict; Secure"
        );
        assert!(!set_cookie("abc", "/fhir", false).contains("Secure"));
    }

    #[test]
    fn comparison_and_paths() {
        assert!(matches("abcd", "abcd"));
        assert!(!matches("abcd", "abce"));
        assert!(!matches("abcd", "abc"));
        assert_eq!(path_of("http://127.0.0.1:8080/fhir"), "/fhir");
        assert_eq!(path_of("https://h.example/api/fhir"), "/api/fhir");
        assert_eq!(path_of("https://h.example"), "");
    }
}
