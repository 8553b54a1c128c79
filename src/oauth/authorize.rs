//! `GET|POST [base]/auth/authorize`: the authorization request (RFC 6749
//! 4.1.1; SMART App Launch 2.0.0 app-launch.html#obtain-authorization-code,
//! GET and POST both, "authorize-post"). It is checked in the order RFC 6749
//! 4.1.2.1 asks: an unknown client or a redirect URI that is not exactly a
//! registered one is shown on an error page and NEVER redirected to; any
//! other fault is redirected to the app with `error` and `state`. A valid
//! request starts a flow (flow.rs) and shows the login page.

use actix_web::{web, HttpRequest, HttpResponse};

use super::flow::{self, Flow, Launch};
use super::pages::{self, PageError};
use super::{csrf, login};
use crate::auth::scopes::{Scope, Scopes};
use crate::fhir::context::Site;
use crate::fhir::AppState;
use crate::store::auth::{clients, grants, ClientRow};

/// Why an authorization request is refused, and how the user learns it.
#[derive(Debug, Clone)]
pub enum Refusal {
    /// Shown here (no trustworthy redirect URI).
    Page(PageError),
    /// Sent back to the app (RFC 6749 4.1.2.1).
    Redirect {
        redirect_uri: String,
        error: &'static str,
        description: String,
        state: Option<String>,
    },
}

impl Refusal {
    pub fn response(&self, after_post: bool) -> HttpResponse {
        match self {
            Refusal::Page(e) => e.response(),
            Refusal::Redirect {
                redirect_uri,
                error,
                description,
                state,
            } => {
                let mut params = vec![("error", *error), ("error_description", description)];
                if let Some(s) = state {
                    params.push(("state", s));
                }
                pages::redirect(redirect_uri, &params, after_post)
            }
        }
    }
}

impl From<PageError> for Refusal {
    fn from(e: PageError) -> Self {
        Refusal::Page(e)
    }
}

pub async fn get(req: HttpRequest, state: Site) -> HttpResponse {
    match serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string()) {
        Ok(pairs) => start(&req, &state, pairs, false).await,
        Err(_) => PageError::bad_request("The authorization request is not valid URL encoding.")
            .response(),
    }
}

/// OpenID Connect Core 3.1.2.1: "Authorization Servers MUST support the use
/// of the HTTP GET and POST methods" (form serialization).
pub async fn post(req: HttpRequest, state: Site, payload: web::Payload) -> HttpResponse {
    match pages::read_form(&req, payload).await {
        Ok(pairs) => start(&req, &state, pairs, true).await,
        Err(e) => e.response(),
    }
}

/// `posted`: the request came as a form (a refusal is then a 303 redirect,
/// so the browser follows it with a GET).
async fn start(
    req: &HttpRequest,
    state: &AppState,
    pairs: Vec<(String, String)>,
    posted: bool,
) -> HttpResponse {
    match validate(req, state, &pairs).await {
        Ok((flow, client)) => match begin(req, state, flow, &client) {
            Ok(r) => r,
            Err(e) => e.response(),
        },
        Err(r) => r.response(posted),
    }
}

/// The values of `name`: None when absent or empty, Err when repeated
/// (RFC 6749 3.1: "Request and response parameters MUST NOT be included
/// more than once").
fn single<'a>(pairs: &'a [(String, String)], name: &str) -> Result<Option<&'a str>, ()> {
    let mut it = pairs.iter().filter(|(k, _)| k == name);
    let first = it.next().map(|(_, v)| v.as_str());
    if it.next().is_some() {
        return Err(());
    }
    Ok(first.filter(|v| !v.is_empty()))
}

/// RFC 7636 4.2: an S256 challenge is BASE64URL(SHA256(verifier)), 43
/// characters; the grammar allows 43 to 128 unreserved characters.
fn valid_challenge(c: &str) -> bool {
    (43..=128).contains(&c.len())
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

async fn validate(
    req: &HttpRequest,
    state: &AppState,
    pairs: &[(String, String)],
) -> Result<(Flow, ClientRow), Refusal> {
    let page = |m: &str| Refusal::Page(PageError::bad_request(m));
    let client_id = single(pairs, "client_id")
        .map_err(|_| page("client_id is given more than once."))?
        .ok_or_else(|| page("The request names no client (client_id)."))?;
    let (t, id) = (state.tenant.as_str().to_owned(), client_id.to_owned());
    let client = state
        .engine
        .db()
        .run(move |conn| clients::get(conn, &t, &id))
        .await
        .map_err(PageError::from)?
        .filter(|c| !c.disabled)
        .ok_or_else(|| page("The application is not registered with this server."))?;
    let redirect_uri = single(pairs, "redirect_uri")
        .map_err(|_| page("redirect_uri is given more than once."))?
        .ok_or_else(|| page("The request has no redirect_uri."))?;
    // RFC 6749 3.1.2.3 and SMART: matched exactly, as registered.
    if !client.redirect_uris.iter().any(|u| u == redirect_uri) {
        return Err(page(
            "The redirect_uri is not one registered for this application.",
        ));
    }
    // From here on the app is told, at its own redirect URI.
    let app_state = single(pairs, "state").ok().flatten().map(str::to_owned);
    let fail = |error: &'static str, description: &str| Refusal::Redirect {
        redirect_uri: redirect_uri.to_owned(),
        error,
        description: description.to_owned(),
        state: app_state.clone(),
    };
    let repeated = pairs
        .iter()
        .enumerate()
        .any(|(i, (k, _))| pairs.iter().skip(i + 1).any(|(k2, _)| k2 == k));
    if repeated {
        return Err(fail(
            "invalid_request",
            "a parameter is given more than once",
        ));
    }
    let get = |name: &str| single(pairs, name).ok().flatten();
    let Some(app_state) = app_state.clone() else {
        // SMART app-launch.html: `state` is required (CSRF protection of the app).
        return Err(fail("invalid_request", "state is required"));
    };
    match get("response_type") {
        Some("code") => {}
        None => return Err(fail("invalid_request", "response_type is required")),
        Some(_) => {
            return Err(fail(
                "unsupported_response_type",
                "only response_type=code is supported",
            ))
        }
    }
    if get("request").is_some() {
        return Err(fail(
            "request_not_supported",
            "request objects are not supported",
        ));
    }
    if get("request_uri").is_some() {
        return Err(fail(
            "request_uri_not_supported",
            "request_uri is not supported",
        ));
    }
    // SMART app-launch.html#considerations-for-pkce-support: S256 required,
    // `plain` SHALL NOT be supported.
    if get("code_challenge_method") != Some("S256") {
        return Err(fail(
            "invalid_request",
            "PKCE is required with code_challenge_method=S256",
        ));
    }
    let challenge = get("code_challenge")
        .filter(|c| valid_challenge(c))
        .ok_or_else(|| fail("invalid_request", "code_challenge is missing or malformed"))?;
    // `aud` (or its RFC 8707 synonym `resource`) must be this FHIR base, so a
    // token cannot be obtained for a counterfeit resource server.
    let base = super::token::base_of(req, state)
        .map_err(|_| page("The Host of this request is not served."))?;
    let aud = get("aud")
        .or_else(|| get("resource"))
        .ok_or_else(|| fail("invalid_request", "aud is required"))?;
    let aud = aud.trim_end_matches('/');
    if aud != base && aud != state.authority.issuer {
        return Err(fail(
            "invalid_request",
            "aud is not this server's FHIR base URL",
        ));
    }
    let scope = get("scope").ok_or_else(|| fail("invalid_scope", "scope is required"))?;
    let scopes = Scopes::parse(scope);
    // OpenID Connect Core 3.1.2.6: the user must sign in here every time.
    if get("prompt").is_some_and(|p| p.split(' ').any(|v| v == "none")) {
        return Err(fail("login_required", "the user must sign in"));
    }
    let launch = match get("launch") {
        None => None,
        Some(_) if !scopes.contains(&Scope::Launch) => {
            return Err(fail(
                "invalid_request",
                "the launch parameter needs the launch scope",
            ))
        }
        Some(id) => {
            let (t, id) = (state.tenant.as_str().to_owned(), id.to_owned());
            let row = state
                .engine
                .db()
                .run(move |conn| grants::launch(conn, &t, &id))
                .await
                .map_err(PageError::from)?
                .ok_or_else(|| fail("invalid_request", "the launch is unknown or has expired"))?;
            Some(Launch {
                patient: row.patient,
                encounter: row.encounter,
            })
        }
    };
    let token = csrf::new_token().map_err(PageError::server)?;
    let flow = Flow {
        exp: Flow::expires_at(),
        csrf: token,
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        state: app_state,
        code_challenge: challenge.to_owned(),
        nonce: get("nonce").map(str::to_owned),
        aud: aud.to_owned(),
        scope: scopes.to_string(),
        launch,
        user: None,
        auth_time: None,
        patient: None,
        offer: None,
    };
    Ok((flow, client))
}

/// The login page of a new flow, with its CSRF cookie.
fn begin(
    req: &HttpRequest,
    state: &AppState,
    flow: Flow,
    client: &ClientRow,
) -> Result<HttpResponse, PageError> {
    let base = super::token::base_of(req, state)
        .map_err(|_| PageError::bad_request("The Host of this request is not served."))?;
    let secure = req.app_config().secure() || base.starts_with("https://");
    let cookie = csrf::set_cookie(&flow.csrf, csrf::path_of(&base), secure);
    let sealed = flow::seal(state, &flow)?;
    let mut page = login::page(&sealed, client, None, "", &flow.redirect_uri);
    page.set_cookie = Some(cookie);
    Ok(page.response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn challenges() {
        assert!(super::valid_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!super::valid_challenge("short"));
        assert!(!super::valid_challenge(&"a".repeat(129)));
        assert!(!super::valid_challenge(&format!("{}+", "a".repeat(43))));
    }
}
