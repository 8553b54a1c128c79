//! One authorization request on its way through the pages (login -> patient
//! picker -> consent -> redirect). The browser carries it in a hidden form
//! field, but cannot read or alter it: it is sealed (AES-256-GCM) under the
//! master key with its own context, so what the server wrote is all it will
//! accept back, within the flow's lifetime and only with the CSRF cookie it
//! was issued with (csrf.rs).

use actix_web::HttpRequest;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::csrf;
use super::pages::{field, PageError};
use crate::crypto::Ciphertext;
use crate::fhir::AppState;

/// The time a user has from the authorization request to the consent.
const TTL_SECS: i64 = 15 * 60;

/// The launch context of an EHR launch (`launch` parameter).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Launch {
    pub patient: String,
    pub encounter: Option<String>,
}

/// What the authorization request asked, and what the pages have settled.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flow {
    /// Unix seconds after which the flow is refused.
    pub exp: i64,
    /// The CSRF cookie value this flow belongs to.
    pub csrf: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub state: String,
    pub code_challenge: String,
    pub nonce: Option<String>,
    /// The FHIR base the token is for (`aud`).
    pub aud: String,
    /// The requested scope string.
    pub scope: String,
    pub launch: Option<Launch>,
    /// The user, once they signed in.
    pub user: Option<String>,
    pub auth_time: Option<i64>,
    /// The patient in context, once settled.
    pub patient: Option<String>,
    /// The scopes the consent page offered (set when it is shown).
    pub offer: Option<Vec<String>>,
}

impl Flow {
    pub fn expires_at() -> i64 {
        chrono::Utc::now().timestamp() + TTL_SECS
    }
}

fn context(state: &AppState) -> String {
    format!("oauth-flow\0{}", state.tenant.as_str())
}

/// The flow sealed for a hidden form field (base64url).
pub fn seal(state: &AppState, flow: &Flow) -> Result<String, PageError> {
    let json = serde_json::to_vec(flow).map_err(PageError::server)?;
    let sealed = state
        .engine
        .keyring()
        .master()
        .seal_secret(&context(state), &json)
        .map_err(PageError::server)?;
    Ok(URL_SAFE_NO_PAD.encode(sealed.0))
}

/// The flow a page's form carries, if it opens, has not expired, and
/// belongs to the CSRF cookie the browser sent.
pub fn open(
    state: &AppState,
    req: &HttpRequest,
    form: &[(String, String)],
) -> Result<Flow, PageError> {
    let expired =
        || PageError::bad_request("This sign-in page has expired or is not valid any more.");
    let sealed = field(form, "flow").ok_or_else(expired)?;
    let bytes = URL_SAFE_NO_PAD.decode(sealed).map_err(|_| expired())?;
    let json = state
        .engine
        .keyring()
        .master()
        .open_secret(&context(state), &Ciphertext(bytes))
        .map_err(|_| expired())?;
    let flow: Flow = serde_json::from_slice(&json.0).map_err(|_| expired())?;
    if flow.exp < chrono::Utc::now().timestamp() {
        return Err(expired());
    }
    let cookie = csrf::from_request(req).ok_or_else(|| {
        PageError::forbidden(
            "The form was refused: its security cookie is missing (are cookies blocked?).",
        )
    })?;
    if !csrf::matches(&flow.csrf, &cookie) {
        return Err(PageError::forbidden(
            "The form was refused: it does not belong to this browser's sign-in.",
        ));
    }
    Ok(flow)
}

/// The hidden field carrying `sealed`.
pub fn hidden(sealed: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"flow\" value=\"{}\">",
        super::pages::esc(sealed)
    )
}
