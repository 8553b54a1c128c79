//! SMART App Launch 2.0.0 scopes, "Scopes and Launch Context"
//! (<https://hl7.org/fhir/smart-app-launch/STU2/scopes-and-launch-context.html>),
//! with the 1.0.0 forms it keeps processing (".read", ".write", ".*";
//! "Scopes for requesting clinical data").
//!
//! A scope string (RFC 6749 3.3) parses into [`Scopes`] without failing: a
//! token this server cannot interpret becomes [`Scope::Other`] and is never
//! granted, which is what the spec allows for "undefined or out of order
//! interactions" (they "MAY be ignored"). [`Scopes::narrow`] computes what of a
//! request a ceiling allows, [`Scopes::within`] whether a request widens a
//! grant, and [`describe()`] words a scope for the consent page.

use std::fmt;

use crate::model::ResourceType;

#[path = "scopes_perms.rs"]
mod perms;
pub use perms::{Context, Perms};

/// One resource scope: `patient/Observation.rs?category=...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceScope {
    pub context: Context,
    /// None = `*`.
    pub rtype: Option<ResourceType>,
    pub perms: Perms,
    /// v2 query constraint ("?category=http://...|laboratory"), kept as the raw,
    /// still-URL-encoded query string without the '?'; None when absent.
    pub query: Option<String>,
    /// The scope as the client wrote it (for token responses and audit).
    pub text: String,
}

impl ResourceScope {
    /// A scope in its v2 form (`context/Type.letters[?query]`).
    pub fn new(
        context: Context,
        rtype: Option<ResourceType>,
        perms: Perms,
        query: Option<String>,
    ) -> Self {
        let text = render(context, rtype, perms, query.as_deref(), false);
        ResourceScope {
            context,
            rtype,
            perms,
            query,
            text,
        }
    }

    /// `context '/' (type | '*') '.' perms ['?' param=value ('&' param=value)*]`
    /// ("Clinical Scope Syntax"), perms v2 or v1. None for anything else,
    /// including a type this server does not serve and a v1 suffix with a
    /// query (v1 had no query constraints, so its meaning would be a guess).
    pub fn parse(token: &str) -> Option<Self> {
        // RFC 6749 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
        if token.is_empty()
            || !token
                .bytes()
                .all(|b| b == 0x21 || ((0x23..=0x7e).contains(&b) && b != 0x5c))
        {
            return None;
        }
        let (head, query) = match token.split_once('?') {
            Some((head, q)) => (head, Some(q)),
            None => (token, None),
        };
        let (context, rest) = token_split(head, '/')?;
        let context = Context::parse(context)?;
        let (rtype, perms) = token_split(rest, '.')?;
        let rtype = match rtype {
            "*" => None,
            name => Some(ResourceType::parse(name)?),
        };
        let perms = match (Perms::parse_v2(perms), query) {
            (Some(p), _) => p,
            (None, None) => Perms::parse_v1(perms)?,
            (None, Some(_)) => return None,
        };
        if let Some(q) = query {
            // One or more `param=value`, each with a name, joined by '&'.
            let ok = q
                .split('&')
                .all(|kv| kv.split_once('=').is_some_and(|(k, _)| !k.is_empty()));
            if !ok {
                return None;
            }
        }
        Some(ResourceScope {
            context,
            rtype,
            perms,
            query: query.map(str::to_owned),
            text: token.to_owned(),
        })
    }

    /// Perms this scope gives for `rtype` (`*` matches every served type),
    /// whatever the context; see [`Self::perms_in`]. A query constraint still
    /// limits which resources of the type these perms reach.
    pub fn perms_for(&self, rtype: ResourceType) -> Perms {
        match self.rtype {
            Some(t) if t != rtype => Perms::NONE,
            _ => self.perms,
        }
    }

    /// Perms this scope gives for `rtype` accessed in `context`: a `patient/`
    /// scope applies only to patient-context access, `user/` to user, `system/`
    /// to system.
    pub fn perms_in(&self, context: Context, rtype: ResourceType) -> Perms {
        if self.context == context {
            self.perms_for(rtype)
        } else {
            Perms::NONE
        }
    }

    /// Whether the client wrote it in the v1 form (the spec: servers "SHOULD
    /// return v1 scopes when v1 scopes are requested and granted").
    pub fn is_v1(&self) -> bool {
        self.query.is_none()
            && self
                .text
                .rsplit_once('.')
                .is_some_and(|(_, p)| Perms::parse_v1(p).is_some())
    }

    /// The query constraint decoded as form parameters (empty when absent).
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        self.query
            .as_deref()
            .and_then(|q| serde_urlencoded::from_str(q).ok())
            .unwrap_or_default()
    }

    /// What of this requested scope `ceiling` allows (see [`Scopes::narrow`]).
    fn narrowed(&self, ceiling: &Scopes) -> Vec<ResourceScope> {
        let (ctx, q) = (self.context, self.query.as_deref());
        let allowed = |t| self.perms.intersect(ceiling.allowed(ctx, t, q));
        let Some(t) = self.rtype else {
            let all = allowed(None);
            let wildcard = (!all.is_empty()).then(|| self.with(None, all));
            // Per type, only what the wildcard above does not already give.
            let typed = ResourceType::ALL.into_iter().filter_map(|t| {
                let p = allowed(Some(t)).minus(all);
                (!p.is_empty()).then(|| self.with(Some(t), p))
            });
            return wildcard.into_iter().chain(typed).collect();
        };
        let p = allowed(Some(t));
        (!p.is_empty())
            .then(|| self.with(Some(t), p))
            .into_iter()
            .collect()
    }

    /// This scope with other type and perms: its own text when nothing
    /// changed, else a new one in the form the client used.
    fn with(&self, rtype: Option<ResourceType>, perms: Perms) -> Self {
        if rtype == self.rtype && perms == self.perms {
            return self.clone();
        }
        let text = render(
            self.context,
            rtype,
            perms,
            self.query.as_deref(),
            self.is_v1(),
        );
        ResourceScope {
            context: self.context,
            rtype,
            perms,
            query: self.query.clone(),
            text,
        }
    }

    /// Plain English for the consent page (the spec asks that a wildcard be
    /// shown to reach data "both now and in the future", "Wildcard scopes").
    pub fn describe(&self) -> String {
        words::resource(self)
    }
}

/// Splits at the first `sep`, both sides non-empty.
fn token_split(s: &str, sep: char) -> Option<(&str, &str)> {
    s.split_once(sep)
        .filter(|(a, b)| !a.is_empty() && !b.is_empty())
}

fn render(
    context: Context,
    rtype: Option<ResourceType>,
    perms: Perms,
    query: Option<&str>,
    v1: bool,
) -> String {
    let rtype = rtype.map_or("*", ResourceType::as_str);
    let perms = match perms.v1_suffix() {
        Some(s) if v1 && query.is_none() => s.to_owned(),
        _ => perms.letters(),
    };
    match query {
        Some(q) => format!("{context}/{rtype}.{perms}?{q}"),
        None => format!("{context}/{rtype}.{perms}"),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Resource(ResourceScope),
    OpenId,
    FhirUser,
    Launch,
    LaunchPatient,
    LaunchEncounter,
    OfflineAccess,
    OnlineAccess,
    /// OpenID Connect's `profile` (SMART 1.0 accepted `openid profile`).
    Profile,
    /// Any other token (kept, granted only if the server knows it: i.e. never today).
    Other(String),
}

impl Scope {
    /// One scope token; never fails (see [`Scopes::parse`]).
    pub fn parse(token: &str) -> Scope {
        // "Scopes for requesting context data", "... identity data", "... a
        // refresh token"; other `launch/x` context requests are not served.
        match token {
            "openid" => Scope::OpenId,
            "fhirUser" => Scope::FhirUser,
            "launch" => Scope::Launch,
            "launch/patient" => Scope::LaunchPatient,
            "launch/encounter" => Scope::LaunchEncounter,
            "offline_access" => Scope::OfflineAccess,
            "online_access" => Scope::OnlineAccess,
            "profile" => Scope::Profile,
            _ => match ResourceScope::parse(token) {
                Some(r) => Scope::Resource(r),
                None => Scope::Other(token.to_owned()),
            },
        }
    }

    /// The token as written.
    pub fn text(&self) -> &str {
        match self {
            Scope::Resource(r) => &r.text,
            Scope::Other(s) => s,
            Scope::OpenId => "openid",
            Scope::FhirUser => "fhirUser",
            Scope::Launch => "launch",
            Scope::LaunchPatient => "launch/patient",
            Scope::LaunchEncounter => "launch/encounter",
            Scope::OfflineAccess => "offline_access",
            Scope::OnlineAccess => "online_access",
            Scope::Profile => "profile",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes(pub Vec<Scope>);

impl Scopes {
    /// Space-separated scope string (RFC 6749 3.3). Never fails: a token that
    /// is not a scope this server knows (an unserved or misspelt resource type,
    /// `.sr`, `.rr`, empty perms, another case) becomes [`Scope::Other`].
    pub fn parse(s: &str) -> Scopes {
        Scopes(s.split_ascii_whitespace().map(Scope::parse).collect())
    }

    pub fn contains(&self, s: &Scope) -> bool {
        self.0.contains(s)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.0.iter()
    }

    pub fn resource_scopes(&self) -> impl Iterator<Item = &ResourceScope> {
        self.0.iter().filter_map(|s| match s {
            Scope::Resource(r) => Some(r),
            _ => None,
        })
    }

    /// The union of what scopes here allow a `context/rtype?query` request
    /// (`rtype` None: the wildcard, which only a wildcard covers, since it
    /// reaches types served in the future too). The spec's "Scope Equivalence"
    /// makes several scopes add up: `.r` and `.s` together are `.rs`.
    fn allowed(&self, context: Context, rtype: Option<ResourceType>, query: Option<&str>) -> Perms {
        self.resource_scopes()
            .filter(|c| c.context.covers(context))
            .filter(|c| c.rtype.is_none() || c.rtype == rtype)
            .filter(|c| c.query.is_none() || c.query.as_deref() == query)
            .fold(Perms::NONE, |acc, c| acc.union(c.perms))
    }

    /// What of `self` (a request) may be granted under `ceiling` (a role's or
    /// client's allowed scopes): the intersection. A resource scope keeps its
    /// context and query constraint, its perms narrowed to what covering
    /// ceiling scopes allow, and goes when none remain. A wildcard request
    /// under typed ceilings becomes one scope per served type the ceiling
    /// allows (the spec's "Wildcard scopes" table: a server may grant other
    /// scopes than requested). Non-resource scopes stay if the ceiling has
    /// them or `allow_non_resource`; `Other` never does. No duplicates.
    pub fn narrow(&self, ceiling: &Scopes, allow_non_resource: bool) -> Scopes {
        let mut out: Vec<Scope> = Vec::new();
        let mut push = |s: Scope| {
            if !out.contains(&s) {
                out.push(s);
            }
        };
        for s in &self.0 {
            match s {
                Scope::Resource(r) => r
                    .narrowed(ceiling)
                    .into_iter()
                    .for_each(|r| push(Scope::Resource(r))),
                Scope::Other(_) => {}
                named if allow_non_resource || ceiling.contains(named) => push(named.clone()),
                _ => {}
            }
        }
        Scopes(out)
    }

    /// Whether `self` asks for nothing beyond `other` (a refresh "MUST NOT
    /// include any scope not originally granted", RFC 6749 6), with the
    /// covering rule of [`Self::narrow`]; any other token only if `other` has
    /// it too.
    pub fn within(&self, other: &Scopes) -> bool {
        self.0.iter().all(|s| match s {
            Scope::Resource(r) => {
                let allowed = other.allowed(r.context, r.rtype, r.query.as_deref());
                allowed.contains(r.perms)
            }
            s => other.contains(s),
        })
    }
}

/// Space-joined tokens in order, each once (the `scope` of a token response).
impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut seen: Vec<&str> = Vec::new();
        for s in &self.0 {
            let t = s.text();
            if seen.contains(&t) {
                continue;
            }
            if !seen.is_empty() {
                f.write_str(" ")?;
            }
            f.write_str(t)?;
            seen.push(t);
        }
        Ok(())
    }
}

/// Plain English for any scope, for the consent page.
pub fn describe(scope: &Scope) -> String {
    words::scope(scope)
}

#[path = "scopes_describe.rs"]
mod words;

#[cfg(test)]
#[path = "scopes_grant_tests.rs"]
mod grant_tests;
#[cfg(test)]
#[path = "scopes_tests.rs"]
mod tests;
