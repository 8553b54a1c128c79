//! What a signed-in user may grant the app, the consent page that asks them,
//! and `POST [base]/auth/consent`, which issues the authorization code
//! (RFC 6749 4.1.2) and redirects to the app.
//!
//! A user's grant never exceeds their role (settings `[auth.roles]`) nor
//! what the client is registered for, whatever the app asks
//! (scopes-and-launch-context.html: the server "may grant fewer or
//! different scopes than requested"). The scopes the launch itself needs
//! (`launch`, `launch/patient`, `launch/encounter`, `openid`, `fhirUser`)
//! are listed but fixed; every other one can be unticked.

use actix_web::{web, HttpRequest, HttpResponse};

use super::authorize::Refusal;
use super::flow::{self, Flow};
use super::pages::{self, esc, field, Page, PageError};
use super::picker;
use crate::auth::scopes::{self, Context, Scope, Scopes};
use crate::fhir::context::Site;
use crate::fhir::AppState;
use crate::store::auth::users::{self, UserRow};
use crate::store::auth::{clients, ClientRow};

pub const PATH: &str = "/auth/consent";

/// The FHIR base of the request, for the pages.
pub fn base(req: &HttpRequest, state: &AppState) -> Result<String, PageError> {
    super::token::base_of(req, state)
        .map_err(|_| PageError::bad_request("The Host of this request is not served."))
}

/// `access_denied` back to the app (RFC 6749 4.1.2.1).
pub fn denied(flow: &Flow, why: &str) -> Refusal {
    Refusal::Redirect {
        redirect_uri: flow.redirect_uri.clone(),
        error: "access_denied",
        description: why.to_owned(),
        state: Some(flow.state.clone()),
    }
}

/// The signed-in user and the client of a flow, both still enabled.
pub async fn party(state: &AppState, flow: &Flow) -> Result<(UserRow, ClientRow), Refusal> {
    let Some(username) = flow.user.clone() else {
        return Err(PageError::bad_request("Sign in first.").into());
    };
    let (t, c) = (state.tenant.as_str().to_owned(), flow.client_id.clone());
    let (user, client) = state
        .engine
        .db()
        .run(move |conn| {
            Ok::<_, crate::store::StoreError>((
                users::get(conn, &t, &username)?,
                clients::get(conn, &t, &c)?,
            ))
        })
        .await
        .map_err(PageError::from)?;
    let client = client
        .filter(|c| !c.disabled)
        .ok_or_else(|| PageError::bad_request("The application is no longer registered."))?;
    let user = user
        .filter(|u| !u.disabled)
        .ok_or_else(|| denied(flow, "the user may not sign in"))?;
    Ok((user, client))
}

/// Scopes shown without a checkbox: the launch needs them.
fn fixed(s: &Scope) -> bool {
    matches!(
        s,
        Scope::Launch
            | Scope::LaunchPatient
            | Scope::LaunchEncounter
            | Scope::OpenId
            | Scope::FhirUser
    )
}

/// What of the request the user may grant: the requested scopes narrowed by
/// the user's role, then by the client's registered scopes; never `system/`;
/// `launch` only with a launch context, `launch/encounter` only with an
/// encounter in it (no encounter picker), `fhirUser` only for a user who has
/// a FHIR resource, and none of what this server does not serve (`profile`).
pub fn offer(state: &AppState, flow: &Flow, user: &UserRow, client: &ClientRow) -> Scopes {
    let narrowed = Scopes::parse(&flow.scope)
        .narrow(&picker::role_scopes(state, user), true)
        .narrow(&Scopes::parse(&client.scopes), false);
    let has_encounter = flow.launch.as_ref().is_some_and(|l| l.encounter.is_some());
    Scopes(
        narrowed
            .0
            .into_iter()
            .filter(|s| match s {
                Scope::Resource(r) => r.context != Context::System,
                Scope::Launch => flow.launch.is_some(),
                Scope::LaunchEncounter => has_encounter,
                Scope::FhirUser => user.fhir_user.is_some(),
                Scope::Profile | Scope::Other(_) => false,
                _ => true,
            })
            .collect(),
    )
}

/// Whether granting `scopes` needs a patient in context: `launch/patient`,
/// an EHR launch (which has one), or any `patient/` scope (the spec: the
/// server "SHALL establish a patient in context"; we infer `launch/patient`).
fn needs_patient(flow: &Flow, scopes: &Scopes) -> bool {
    flow.launch.is_some()
        || scopes.contains(&Scope::LaunchPatient)
        || scopes
            .resource_scopes()
            .any(|r| r.context == Context::Patient)
}

/// The next page of a signed-in flow: the patient picker while a patient is
/// needed and not settled, else the consent page.
pub async fn proceed(
    req: &HttpRequest,
    state: &AppState,
    mut flow: Flow,
    user: &UserRow,
    client: &ClientRow,
) -> Result<HttpResponse, Refusal> {
    let offered = offer(state, &flow, user, client);
    if offered.is_empty() {
        return Err(denied(
            &flow,
            "nothing the application asked for may be granted to this user",
        ));
    }
    if flow.patient.is_none() && needs_patient(&flow, &offered) {
        let own = picker::own_patient(user);
        if let Some(launch) = flow.launch.clone() {
            let allowed = match &own {
                Some(p) => *p == launch.patient,
                None if user.role == "patient" => false,
                None => {
                    let b = base(req, state)?;
                    let who = picker::principal(state, user, &client.client_id);
                    picker::can_read(state, req, who, &b, &launch.patient).await
                }
            };
            if !allowed {
                return Err(denied(&flow, "the user may not open the launch's patient"));
            }
            flow.patient = Some(launch.patient);
        } else if let Some(p) = own {
            flow.patient = Some(p);
        } else if user.role == "patient" {
            return Err(denied(&flow, "the user has no patient record"));
        } else {
            return picker::page(req, state, &flow, user, client, "").await;
        }
    }
    flow.offer = Some(offered.iter().map(|s| s.text().to_owned()).collect());
    let patient = match &flow.patient {
        None => None,
        Some(id) => {
            let b = base(req, state)?;
            let who = picker::principal(state, user, &client.client_id);
            let label = picker::label(state, req, who, &b, id).await;
            Some(label.unwrap_or_else(|| format!("Patient/{id}")))
        }
    };
    render(state, &flow, user, client, &offered, patient.as_deref())
}

/// The consent page; `patient` names the patient in context.
fn render(
    state: &AppState,
    flow: &Flow,
    user: &UserRow,
    client: &ClientRow,
    offered: &Scopes,
    patient: Option<&str>,
) -> Result<HttpResponse, Refusal> {
    let sealed = flow::seal(state, flow)?;
    let mut needed = String::new();
    let mut optional = String::new();
    for (i, s) in offered.iter().enumerate() {
        let words = esc(&scopes::describe(s));
        let code = esc(s.text());
        if fixed(s) {
            needed.push_str(&format!("<li>{words} <code>{code}</code></li>\n"));
        } else {
            optional.push_str(&format!(
                "<div class=\"check\"><input type=\"checkbox\" name=\"grant\" id=\"s{i}\" value=\"{i}\" checked> \
                 <label for=\"s{i}\">{words} <code>{code}</code></label></div>\n"
            ));
        }
    }
    let mut sections = String::new();
    if !needed.is_empty() {
        sections.push_str(&format!(
            "<h2>Needed to start the application</h2>\n<ul>\n{needed}</ul>\n"
        ));
    }
    if !optional.is_empty() {
        sections.push_str(&format!(
            "<fieldset><legend>Permissions you can give (untick any you do not want to give)</legend>\n{optional}</fieldset>\n"
        ));
    }
    let patient = patient
        .map(|p| format!(" for the patient <strong>{}</strong>", esc(p)))
        .unwrap_or_default();
    let body = format!(
        "<p>Signed in as <strong>{user}</strong>. <strong>{app}</strong> (<code>{id}</code>) asks to act on your behalf{patient}.</p>\n\
         <form method=\"post\" action=\"consent\">\n{hidden}\n{sections}\
         <button type=\"submit\" name=\"decision\" value=\"allow\" autofocus>Allow</button>\n\
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\n</form>",
        user = esc(&user.username),
        app = esc(&client.name),
        id = esc(&client.client_id),
        hidden = flow::hidden(&sealed),
    );
    let mut p = Page::new("Allow access?", body);
    p.form_targets = pages::origin_of(&flow.redirect_uri).into_iter().collect();
    Ok(p.response())
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
    let flow = flow::open(state, req, &form)?;
    let (user, client) = party(state, &flow).await?;
    let Some(offered) = flow.offer.clone() else {
        return Err(PageError::bad_request("Sign in first.").into());
    };
    match field(&form, "decision") {
        Some("allow") => {}
        Some("deny") => return Err(denied(&flow, "the user denied access")),
        _ => return Err(PageError::bad_request("Choose Allow or Deny.").into()),
    }
    let ticked: Vec<usize> = form
        .iter()
        .filter(|(k, _)| k == "grant")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    let chosen = Scopes(
        offered
            .iter()
            .enumerate()
            .map(|(i, s)| (i, Scope::parse(s)))
            .filter(|(i, s)| fixed(s) || ticked.contains(i))
            .map(|(_, s)| s)
            .collect(),
    );
    // Narrowed again by what the user and client may have now (a role or
    // registration changed while the page was open).
    let granted = chosen.narrow(&offer(state, &flow, &user, &client), false);
    if granted.is_empty() {
        return Err(denied(&flow, "no permission was granted"));
    }
    if needs_patient(&flow, &granted) && flow.patient.is_none() {
        return Err(PageError::bad_request("No patient was chosen.").into());
    }
    let code = super::code_grant::issue_code(state, &flow, &user, &granted).await?;
    Ok(pages::redirect(
        &flow.redirect_uri,
        &[("code", &code), ("state", &flow.state)],
        true,
    ))
}
