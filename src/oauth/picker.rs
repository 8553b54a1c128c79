//! The patient picker (SMART standalone launch with `launch/patient`,
//! scopes-and-launch-context.html#standalone-apps: "the EHR may provide the
//! end-user with a patient selection widget") and `POST [base]/auth/picker`.
//!
//! Patients are listed and searched through the FHIR engine acting as the
//! signed-in user (their role's scopes as the principal), so the picker shows
//! only whom the user may see, and each look-up is audited like any other.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use super::authorize::Refusal;
use super::consent;
use super::flow::{self, Flow};
use super::pages::{self, esc, field, Page, PageError};
use crate::auth::grant::{Actor, Grant};
use crate::auth::scopes::{Context, Scope, Scopes};
use crate::fhir::context::Site;
use crate::fhir::engine::{Interaction, Origin, Outcome, Principal, ReadPreconditions, Request};
use crate::fhir::AppState;
use crate::model::{ResourceId, ResourceType};
use crate::store::auth::users::UserRow;
use crate::store::auth::ClientRow;

pub const PATH: &str = "/auth/picker";

/// Patients listed at once.
const PAGE_SIZE: &str = "20";

/// The patient a patient user is (`fhirUser` = `Patient/ID`).
pub fn own_patient(user: &UserRow) -> Option<String> {
    user.fhir_user
        .as_deref()
        .and_then(|f| f.strip_prefix("Patient/"))
        .filter(|id| ResourceId::parse(id).is_some())
        .map(str::to_owned)
}

/// The user's role ceiling (settings `[auth.roles]`); nothing for an unknown role.
pub fn role_scopes(state: &AppState, user: &UserRow) -> Scopes {
    state
        .authority
        .settings
        .roles
        .get(&user.role)
        .map(|s| Scopes::parse(s))
        .unwrap_or_default()
}

/// The signed-in user as the engine's principal: what their role allows
/// (never `system/`), a patient user within their own compartment.
pub fn principal(state: &AppState, user: &UserRow, client_id: &str) -> Principal {
    let scopes = Scopes(
        role_scopes(state, user)
            .0
            .into_iter()
            .filter(|s| !matches!(s, Scope::Resource(r) if r.context == Context::System))
            .collect(),
    );
    Principal::from_grant(Grant {
        scopes,
        patient: own_patient(user).and_then(|p| ResourceId::parse(&p)),
        actor: Actor {
            user: user
                .fhir_user
                .clone()
                .or_else(|| Some(format!("user:{}", user.username))),
            client_id: Some(client_id.to_owned()),
        },
    })
}

fn interaction(
    state: &AppState,
    req: &HttpRequest,
    principal: Principal,
    base: &str,
    request: Request,
) -> Interaction {
    Interaction {
        tenant: state.tenant.clone(),
        principal,
        base: base.to_owned(),
        origin: Origin {
            client_addr: req.peer_addr().map(|a| a.ip().to_string()),
            server_addr: Some(req.app_config().local_addr().ip().to_string()),
        },
        request,
    }
}

/// Patient `id` as `principal` reads it (None: not readable, or absent).
async fn read_patient(
    state: &AppState,
    req: &HttpRequest,
    principal: Principal,
    base: &str,
    id: &str,
) -> Option<Value> {
    let id = ResourceId::parse(id)?;
    let request = Request::Read {
        rtype: ResourceType::Patient,
        id,
        preconditions: ReadPreconditions::default(),
    };
    match state
        .engine
        .run(interaction(state, req, principal, base, request))
        .await
    {
        Ok(Outcome::Read(current)) => serde_json::from_slice(&current.body).ok(),
        _ => None,
    }
}

/// Whether `principal` may read Patient `id` (which must exist).
pub async fn can_read(
    state: &AppState,
    req: &HttpRequest,
    principal: Principal,
    base: &str,
    id: &str,
) -> bool {
    read_patient(state, req, principal, base, id)
        .await
        .is_some()
}

/// "Name, born date" of Patient `id` as the user sees it, for the consent page.
pub async fn label(
    state: &AppState,
    req: &HttpRequest,
    principal: Principal,
    base: &str,
    id: &str,
) -> Option<String> {
    let p = read_patient(state, req, principal, base, id).await?;
    let name = display_name(&p);
    Some(match p.get("birthDate").and_then(Value::as_str) {
        Some(b) => format!("{name}, born {b}"),
        None => name,
    })
}

/// One patient of the list: id, display name, birth date.
struct Row {
    id: String,
    name: String,
    birth_date: String,
}

fn display_name(p: &Value) -> String {
    let Some(n) = p
        .get("name")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    else {
        return "(no name)".into();
    };
    if let Some(t) = n.get("text").and_then(Value::as_str) {
        return t.to_owned();
    }
    let mut parts: Vec<&str> = n
        .get("given")
        .and_then(Value::as_array)
        .map(|g| g.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(f) = n.get("family").and_then(Value::as_str) {
        parts.push(f);
    }
    if parts.is_empty() {
        "(no name)".into()
    } else {
        parts.join(" ")
    }
}

async fn search(
    state: &AppState,
    req: &HttpRequest,
    principal: Principal,
    base: &str,
    q: &str,
) -> Result<Vec<Row>, String> {
    let mut query = vec![("_count".to_owned(), PAGE_SIZE.to_owned())];
    if !q.is_empty() {
        query.push(("name".to_owned(), q.to_owned()));
    }
    let request = Request::Search {
        rtype: ResourceType::Patient,
        query,
        strict: false,
    };
    let out = state
        .engine
        .run(interaction(state, req, principal, base, request))
        .await;
    let bytes = match out {
        Ok(Outcome::Document(b)) => b,
        Ok(_) => return Ok(Vec::new()),
        Err(crate::fhir::error::FhirError::Forbidden(_)) => {
            return Err("You may not look up patients.".into())
        }
        Err(_) => return Err("The search could not be run.".into()),
    };
    let bundle: Value = serde_json::from_slice(&bytes).map_err(|_| "The search failed.")?;
    Ok(bundle
        .get("entry")
        .and_then(Value::as_array)
        .map(|entries| {
            entries
                .iter()
                .filter_map(|e| e.get("resource"))
                .filter(|r| r.get("resourceType").and_then(Value::as_str) == Some("Patient"))
                .filter_map(|r| {
                    Some(Row {
                        id: r.get("id").and_then(Value::as_str)?.to_owned(),
                        name: display_name(r),
                        birth_date: r
                            .get("birthDate")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_owned(),
                    })
                })
                .collect()
        })
        .unwrap_or_default())
}

/// The picker page for `flow` (signed in, no patient yet), listing the
/// patients matching `q` (the first ones without).
pub async fn page(
    req: &HttpRequest,
    state: &AppState,
    flow: &Flow,
    user: &UserRow,
    client: &ClientRow,
    q: &str,
) -> Result<HttpResponse, Refusal> {
    let base = consent::base(req, state)?;
    let found = search(
        state,
        req,
        principal(state, user, &client.client_id),
        &base,
        q,
    )
    .await;
    let sealed = flow::seal(state, flow)?;
    let list = match &found {
        Err(e) => format!("<p class=\"alert\" role=\"alert\">{}</p>", esc(e)),
        Ok(rows) if rows.is_empty() => "<p role=\"status\">No patient found.</p>".to_owned(),
        Ok(rows) => {
            let mut s = String::from("<fieldset><legend>Patients</legend>\n");
            for (i, r) in rows.iter().enumerate() {
                let born = if r.birth_date.is_empty() {
                    String::new()
                } else {
                    format!(", born {}", esc(&r.birth_date))
                };
                s.push_str(&format!(
                    "<div class=\"check\"><input type=\"radio\" name=\"patient\" id=\"p{i}\" value=\"{id}\"{checked}> \
                     <label for=\"p{i}\">{name}{born}</label></div>\n",
                    id = esc(&r.id),
                    name = esc(&r.name),
                    checked = if i == 0 { " checked" } else { "" },
                ));
            }
            s.push_str("</fieldset>\n<button type=\"submit\" name=\"action\" value=\"select\">Continue with this patient</button>\n");
            s
        }
    };
    let body = format!(
        "<p>Signed in as <strong>{user}</strong>. Choose the patient <strong>{app}</strong> will work with.</p>\n\
         <form method=\"post\" action=\"picker\">\n{hidden}\n\
         <label for=\"q\">Search patients by name</label>\n\
         <input type=\"search\" id=\"q\" name=\"q\" value=\"{q}\" autofocus>\n\
         <button type=\"submit\" name=\"action\" value=\"search\">Search</button>\n\
         {list}<button type=\"submit\" name=\"action\" value=\"cancel\">Cancel</button>\n</form>",
        user = esc(&user.username),
        app = esc(&client.name),
        hidden = flow::hidden(&sealed),
        q = esc(q),
    );
    let mut p = Page::new("Choose a patient", body);
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
    let mut flow = flow::open(state, req, &form)?;
    let (user, client) = consent::party(state, &flow).await?;
    match field(&form, "action") {
        Some("cancel") => Err(consent::denied(&flow, "the user cancelled")),
        Some("select") => {
            let id = field(&form, "patient").unwrap_or("").to_owned();
            let base = consent::base(req, state)?;
            let who = principal(state, &user, &client.client_id);
            if !can_read(state, req, who, &base, &id).await {
                return Err(PageError::forbidden("That patient cannot be chosen.").into());
            }
            flow.patient = Some(id);
            consent::proceed(req, state, flow, &user, &client).await
        }
        _ => {
            let q = field(&form, "q").unwrap_or("").trim();
            let q: String = q.chars().take(100).collect();
            page(req, state, &flow, &user, &client, &q).await
        }
    }
}
