//! The authorization server's HTML pages (login, patient picker, consent,
//! errors): plain server-rendered HTML, no script, every printed value
//! escaped, served with headers that keep them out of frames, caches and
//! other origins' reach (`Content-Security-Policy`, `X-Frame-Options`,
//! `Cache-Control: no-store`, `Referrer-Policy`).
//!
//! The one stylesheet is inline and allowed by its SHA-256 hash
//! (CSP Level 3 "hash-source"), so no `'unsafe-inline'` is needed.

use std::sync::OnceLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, HttpResponseBuilder};
use base64::Engine as _;
use sha2::Digest as _;

/// Bytes a page's form may carry (a sealed flow and a few fields).
const MAX_FORM: usize = 64 * 1024;

const CSS: &str = "body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.5}\
label{display:block;margin-top:.75rem}input[type=text],input[type=password],input[type=search]{width:100%;padding:.4rem;font-size:1rem}\
button{margin:1rem .5rem 0 0;padding:.5rem 1.2rem;font-size:1rem}.check label{display:inline;margin:0}\
.check{margin:.4rem 0}.alert{color:#9e2d2d;font-weight:bold}code{font-size:.85em;color:#555}\
:focus{outline:3px solid #1a5fb4;outline-offset:2px}fieldset{margin-top:1rem}";

fn css_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        let digest = sha2::Sha256::digest(CSS.as_bytes());
        format!(
            "'sha256-{}'",
            base64::engine::general_purpose::STANDARD.encode(digest)
        )
    })
}

/// HTML-escapes text for element content and double-quoted attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The origin a form may post to or be redirected to (CSP `form-action`
/// source): `scheme://host[:port]` of an absolute URL, or `scheme:` for a
/// native app's private-use scheme (RFC 8252 7.1). None when the value has
/// characters a CSP source cannot carry (a registered URI is an operator's
/// input, but a page header must not be split by it).
pub fn origin_of(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once(':')?;
    let scheme_ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok {
        return None;
    }
    let Some(after) = rest.strip_prefix("//") else {
        return Some(format!("{scheme}:"));
    };
    let authority = after
        .split(['/', '?', '#'])
        .next()
        .unwrap_or("")
        .rsplit('@')
        .next()
        .unwrap_or("");
    let ok = !authority.is_empty()
        && authority
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    ok.then(|| format!("{scheme}://{authority}"))
}

/// The headers of every page: `form_targets` are the origins besides this
/// one a form on the page leads to (the app's redirect URI after consent).
fn secure_headers(b: &mut HttpResponseBuilder, form_targets: &[String]) {
    let mut form_action = String::from("'self'");
    for t in form_targets {
        form_action.push(' ');
        form_action.push_str(t);
    }
    let csp = format!(
        "default-src 'none'; style-src {}; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'",
        css_hash()
    );
    b.insert_header((header::CONTENT_SECURITY_POLICY, csp))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
}

/// A page: `title` (text) and `body` (HTML, escaped by the caller).
pub struct Page {
    pub status: StatusCode,
    pub title: String,
    pub body: String,
    pub form_targets: Vec<String>,
    pub set_cookie: Option<String>,
}

impl Page {
    pub fn new(title: impl Into<String>, body: String) -> Self {
        Self {
            status: StatusCode::OK,
            title: title.into(),
            body,
            form_targets: Vec::new(),
            set_cookie: None,
        }
    }

    pub fn response(self) -> HttpResponse {
        let mut b = HttpResponse::build(self.status);
        secure_headers(&mut b, &self.form_targets);
        if let Some(c) = self.set_cookie {
            if let Ok(v) = HeaderValue::from_str(&c) {
                b.append_header((header::SET_COOKIE, v));
            }
        }
        let title = esc(&self.title);
        b.content_type("text/html; charset=utf-8").body(format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{title} - fhirgate</title><style>{CSS}</style></head>\
             <body><main><h1>{title}</h1>\n{}\n</main></body></html>\n",
            self.body
        ))
    }
}

/// A refusal shown to the user instead of a redirect (RFC 6749 4.1.2.1: an
/// unknown client or a redirect URI that does not match must never be
/// redirected to), or a page whose form cannot be accepted (CSRF, expired).
#[derive(Debug, Clone)]
pub struct PageError {
    pub status: StatusCode,
    pub message: String,
}

impl PageError {
    pub fn bad_request(m: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: m.into(),
        }
    }

    pub fn forbidden(m: impl Into<String>) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            message: m.into(),
        }
    }

    pub fn server(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "authorization page failure");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: "The authorization server failed. Please try again later.".into(),
        }
    }

    pub fn response(&self) -> HttpResponse {
        let mut p = Page::new(
            "Authorization refused",
            format!(
                "<p class=\"alert\" role=\"alert\">{}</p>\n<p>Return to the application and start again.</p>",
                esc(&self.message)
            ),
        );
        p.status = self.status;
        p.response()
    }
}

impl From<crate::store::StoreError> for PageError {
    fn from(e: crate::store::StoreError) -> Self {
        PageError::server(e)
    }
}

/// A redirect to the app (RFC 6749 4.1.2 and 4.1.2.1): `params` appended to
/// `redirect_uri`'s query. 302 for the authorization request (a GET or the
/// app's POST), 303 after a form of ours, so the browser follows with a GET.
pub fn redirect(redirect_uri: &str, params: &[(&str, &str)], after_post: bool) -> HttpResponse {
    let query = serde_urlencoded::to_string(params).unwrap_or_default();
    // RFC 6749 3.1.2: "The endpoint URI MUST NOT include a fragment component."
    let base = redirect_uri.split('#').next().unwrap_or(redirect_uri);
    let sep = if base.contains('?') { '&' } else { '?' };
    let location = format!("{base}{sep}{query}");
    let status = if after_post {
        StatusCode::SEE_OTHER
    } else {
        StatusCode::FOUND
    };
    HttpResponse::build(status)
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .finish()
}

/// The fields of a page's form (`application/x-www-form-urlencoded`), in
/// order; a name may repeat (the consent page's checkboxes).
pub async fn read_form(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<Vec<(String, String)>, PageError> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let form = ct.split(';').next().is_some_and(|m| {
        m.trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    });
    if !form {
        return Err(PageError::bad_request(
            "The form must be sent as application/x-www-form-urlencoded.",
        ));
    }
    let body = payload
        .to_bytes_limited(MAX_FORM)
        .await
        .map_err(|_| PageError::bad_request("The form is too large."))?
        .map_err(|_| PageError::bad_request("The form could not be read."))?;
    serde_urlencoded::from_bytes(&body)
        .map_err(|_| PageError::bad_request("The form is not form-encoded."))
}

/// The first value of `name` in a form.
pub fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<script>\"x\" & 'y'</script>"),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn origins_for_form_action() {
        assert_eq!(
            origin_of("https://app.example:8443/cb?x=1").as_deref(),
            Some("https://app.example:8443")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:9/after").as_deref(),
            Some("http://127.0.0.1:9")
        );
        assert_eq!(
            origin_of("com.example.app:/oauth").as_deref(),
            Some("com.example.app:")
        );
        assert_eq!(origin_of("https://a.example;script-src *"), None);
        assert_eq!(origin_of("no scheme"), None);
    }

    #[test]
    fn redirect_appends_to_an_existing_query() {
        let r = redirect(
            "https://app/cb?x=1",
            &[("code", "a b"), ("state", "s")],
            true,
        );
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            r.headers().get(header::LOCATION).unwrap(),
            "https://app/cb?x=1&code=a+b&state=s"
        );
    }
}
