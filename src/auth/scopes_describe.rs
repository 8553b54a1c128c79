//! Scopes in plain English for the consent page (English only). The words are
//! text, not HTML: the page escapes them, since a query constraint or an
//! unknown scope is client-written.

use super::{Context, Perms, ResourceScope, Scope};

pub(super) fn scope(scope: &Scope) -> String {
    let s = match scope {
        Scope::Resource(r) => return resource(r),
        Scope::Other(t) => return format!("Unknown permission \"{t}\" (will not be granted)"),
        Scope::OpenId => "Confirm who you are (OpenID Connect sign-in)",
        Scope::FhirUser => "Know who you are (your FHIR user)",
        Scope::Profile => "See your name and basic profile",
        Scope::Launch => "Receive the context the EHR launches it in",
        Scope::LaunchPatient => "Ask for a patient to be selected when it starts",
        Scope::LaunchEncounter => "Ask for an encounter to be selected when it starts",
        // "regardless of whether the end-user is online" / "for as long as the
        // end-user remains online" ("Scopes for requesting a refresh token").
        Scope::OfflineAccess => "Stay signed in, even when you are not online (offline access)",
        Scope::OnlineAccess => "Stay signed in while you are online (online access)",
    };
    s.to_owned()
}

pub(super) fn resource(r: &ResourceScope) -> String {
    let verbs = verbs(r.perms);
    let mut out = match (r.context, r.rtype) {
        (Context::Patient, Some(t)) => format!("{verbs} the selected patient's {t}s"),
        (Context::Patient, None) => format!("{verbs} all of the selected patient's records"),
        (Context::User, Some(t)) => format!("{verbs} the {t}s in records you can access"),
        (Context::User, None) => format!("{verbs} all records you can access"),
        (Context::System, Some(t)) => format!("{verbs} all {t}s"),
        (Context::System, None) => format!("{verbs} all records"),
    };
    if r.rtype.is_none() {
        // "Wildcard scopes": the user should know a wildcard reaches data the
        // server may expose in the future as well.
        out.push_str(", including kinds of data added later");
    }
    let only: Vec<String> = r
        .query_pairs()
        .into_iter()
        .map(|(k, v)| {
            // A token search value `system|code` reads as its code.
            let v = v.rsplit_once('|').map_or(v.as_str(), |(_, c)| c).to_owned();
            format!("{k} {v}")
        })
        .collect();
    if !only.is_empty() {
        out.push_str(&format!(" (only {})", only.join(", ")));
    }
    out
}

/// "Create, read, update, delete and search", in "cruds" order.
fn verbs(perms: Perms) -> String {
    let words: Vec<&str> = [
        (Perms::C, "create"),
        (Perms::R, "read"),
        (Perms::U, "update"),
        (Perms::D, "delete"),
        (Perms::S, "search"),
    ]
    .into_iter()
    .filter(|(p, _)| perms.contains(*p))
    .map(|(_, w)| w)
    .collect();
    let text = match words.split_last() {
        None => "use".to_owned(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    };
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}
