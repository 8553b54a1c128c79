//! The login page and `POST [base]/auth/login`: a user of this server signs
//! in with username and password (argon2id, auth/password.rs). Password
//! guessing is slowed (one second after every failure) and locked out: an
//! account after `login_max_failures` failures in a row, an address after
//! four times as many within an hour, each for `login_lockout`
//! (store/auth/users.rs). An unknown user costs the same as a wrong password
//! (a decoy hash is verified) and gets the same answer; a disabled one too.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::authorize::Refusal;
use super::flow::{self, Flow};
use super::pages::{self, esc, field, Page, PageError};
use crate::auth::password;
use crate::fhir::context::Site;
use crate::fhir::AppState;
use crate::store::auth::{clients, users, ClientRow};

pub const PATH: &str = "/auth/login";

/// How long a failed login waits before it answers.
const FAILURE_DELAY: Duration = Duration::from_secs(1);

/// The login page for a flow (`sealed`), with an error line and the
/// username to show again after a failure.
/// `redirect_uri`: where the answer to the form may lead (a refusal goes
/// back to the app).
pub fn page(
    sealed: &str,
    client: &ClientRow,
    error: Option<&str>,
    username: &str,
    redirect_uri: &str,
) -> Page {
    let alert = error
        .map(|e| format!("<p class=\"alert\" role=\"alert\">{}</p>\n", esc(e)))
        .unwrap_or_default();
    let body = format!(
        "<p><strong>{name}</strong> asks to use your access to this server. Sign in to continue.</p>\n\
         {alert}<form method=\"post\" action=\"login\">\n{hidden}\n\
         <label for=\"username\">Username</label>\n\
         <input type=\"text\" id=\"username\" name=\"username\" value=\"{user}\" autocomplete=\"username\" required autofocus>\n\
         <label for=\"password\">Password</label>\n\
         <input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\n\
         <button type=\"submit\">Sign in</button>\n</form>",
        name = esc(&client.name),
        hidden = flow::hidden(sealed),
        user = esc(username),
    );
    let mut p = Page::new("Sign in", body);
    p.form_targets = pages::origin_of(redirect_uri).into_iter().collect();
    p
}

pub async fn post(req: HttpRequest, state: Site, payload: web::Payload) -> HttpResponse {
    match handle(&req, &state, payload).await {
        Ok(r) => r,
        Err(r) => r.response(true),
    }
}

async fn handle(
    req: &HttpRequest,
    state: &AppState,
    payload: web::Payload,
) -> Result<HttpResponse, Refusal> {
    let form = pages::read_form(req, payload).await?;
    let mut flow = flow::open(state, req, &form)?;
    let tenant = state.tenant.as_str().to_owned();
    let (t, id) = (tenant.clone(), flow.client_id.clone());
    let client = state
        .engine
        .db()
        .run(move |conn| clients::get(conn, &t, &id))
        .await
        .map_err(PageError::from)?
        .filter(|c| !c.disabled)
        .ok_or_else(|| PageError::bad_request("The application is no longer registered."))?;
    let username = field(&form, "username").unwrap_or("").trim().to_owned();
    let pw = field(&form, "password").unwrap_or("").to_owned();
    let again = |error: &str, status: StatusCode, flow: &Flow| -> Result<HttpResponse, Refusal> {
        let sealed = flow::seal(state, flow)?;
        let mut p = page(&sealed, &client, Some(error), &username, &flow.redirect_uri);
        p.status = status;
        Ok(p.response())
    };
    if username.is_empty() || username.len() > 256 || pw.is_empty() || pw.len() > 1024 {
        return again("Enter your username and password.", StatusCode::OK, &flow);
    }
    let address = req
        .peer_addr()
        .map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string());
    let (t, a, u) = (tenant.clone(), address.clone(), username.clone());
    let (address_lock, user) = state
        .engine
        .db()
        .run(move |conn| {
            Ok::<_, crate::store::StoreError>((
                users::address_locked_until(conn, &t, &a)?,
                users::get(conn, &t, &u)?,
            ))
        })
        .await
        .map_err(PageError::from)?;
    let now = chrono::Utc::now();
    let locked = address_lock.is_some()
        || user
            .as_ref()
            .and_then(|u| u.locked_until)
            .is_some_and(|until| until > now);
    if locked {
        return again(
            "Too many failed sign-ins. Sign-in is blocked for a while; try again later.",
            StatusCode::TOO_MANY_REQUESTS,
            &flow,
        );
    }
    let phc = user
        .as_ref()
        .map_or_else(|| password::decoy().to_owned(), |u| u.password_hash.clone());
    let matched = web::block(move || password::verify(&pw, &phc))
        .await
        .map_err(PageError::server)?;
    let user = match user {
        Some(u) if matched && !u.disabled => u,
        _ => {
            let settings = &state.authority.settings;
            let limit = settings.login_max_failures;
            let lock = chrono::Duration::from_std(settings.login_lockout)
                .unwrap_or(chrono::Duration::minutes(15));
            let (t, u) = (tenant.clone(), username.clone());
            state
                .engine
                .db()
                .run(move |conn| users::record_failure(conn, &t, &u, &address, limit, lock))
                .await
                .map_err(PageError::from)?;
            tokio::time::sleep(FAILURE_DELAY).await;
            return again(
                "The username or password is not right.",
                StatusCode::OK,
                &flow,
            );
        }
    };
    let (t, u) = (tenant, user.username.clone());
    state
        .engine
        .db()
        .run(move |conn| users::record_success(conn, &t, &u))
        .await
        .map_err(PageError::from)?;
    flow.user = Some(user.username.clone());
    flow.auth_time = Some(now.timestamp());
    flow.patient = None;
    flow.offer = None;
    super::consent::proceed(req, state, flow, &user, &client).await
}
