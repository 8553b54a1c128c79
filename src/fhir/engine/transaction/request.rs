//! A posted transaction or batch Bundle, parsed into requests
//! (http://hl7.org/fhir/R4/bundle.html#transaction, http.html#transaction).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use fhirgate_validate::{Issue, IssueCode};
use serde_json::{Map, Value};

use crate::fhir::error::FhirError;
use crate::fhir::patch::PatchDoc;
use crate::model::{ResourceId, ResourceType};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Transaction,
    Batch,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Delete,
    Post,
    Put,
    Patch,
    Get,
}

impl Verb {
    /// The step of http.html#trules: DELETE, then POST, then PUT and PATCH
    /// (together, in entry order), then GET.
    pub fn step(self) -> u8 {
        match self {
            Verb::Delete => 0,
            Verb::Post => 1,
            Verb::Put | Verb::Patch => 2,
            Verb::Get => 3,
        }
    }
}

/// What `request.url` names.
#[derive(Debug, Clone)]
pub enum Target {
    Type(ResourceType),
    Instance(ResourceType, ResourceId),
    Search(ResourceType, Vec<(String, String)>),
}

impl Target {
    pub fn rtype(&self) -> ResourceType {
        match self {
            Target::Type(t) | Target::Instance(t, _) | Target::Search(t, _) => *t,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Request {
    pub index: usize,
    pub full_url: Option<String>,
    pub verb: Verb,
    pub target: Target,
    pub resource: Option<Map<String, Value>>,
    /// The patch of a PATCH entry (a Binary JSON Patch or a Parameters FHIRPath Patch).
    pub patch: Option<PatchDoc>,
    pub if_none_exist: Option<String>,
    pub if_match: Option<String>,
    /// A GET's conditional read (Bundle.entry.request.ifNoneMatch and
    /// ifModifiedSince, http.html#cread).
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<DateTime<Utc>>,
}

impl Request {
    /// How errors name this entry (issue #4: "an OperationOutcome naming the entry").
    pub fn label(&self) -> String {
        match &self.full_url {
            Some(u) => format!("entry[{}] ({u})", self.index),
            None => format!("entry[{}]", self.index),
        }
    }

    /// The search of a POST's `ifNoneExist` (`identifier=...` or
    /// `Patient?identifier=...`), when it has one; empty when it does not parse,
    /// which the conditional then refuses for having no criterion.
    pub fn if_none_exist_query(&self) -> Option<Vec<(String, String)>> {
        let cond = self.if_none_exist.as_deref()?;
        let q = cond.split_once('?').map_or(cond, |(_, q)| q);
        Some(serde_urlencoded::from_str(q).unwrap_or_default())
    }
}

fn bad(msg: String) -> FhirError {
    FhirError::invalid(IssueCode::Invalid, None, msg)
}

/// `Type`, `Type/id` or `Type?query`, relative to the base (an absolute URL under
/// `base` is accepted too).
pub fn parse_url(url: &str, base: &str) -> Result<Target, FhirError> {
    let rel = url
        .strip_prefix(base)
        .unwrap_or(url)
        .trim_start_matches('/');
    let (path, query) = match rel.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rel, None),
    };
    let mut parts = path.split('/');
    let tname = parts.next().unwrap_or("");
    let rtype = ResourceType::parse(tname).ok_or_else(|| {
        FhirError::invalid(
            IssueCode::NotSupported,
            None,
            format!("resource type {tname:?} is not served by this gateway (README, \"Served resource types\")"),
        )
    })?;
    match (parts.next(), parts.next(), query) {
        (None, None, None) => Ok(Target::Type(rtype)),
        (None, None, Some(q)) => {
            let pairs = serde_urlencoded::from_str::<Vec<(String, String)>>(q)
                .map_err(|_| bad(format!("request.url {url:?} has a malformed query")))?;
            Ok(Target::Search(rtype, pairs))
        }
        (Some(id), None, None) => ResourceId::parse(id)
            .map(|id| Target::Instance(rtype, id))
            .ok_or_else(|| bad(format!("request.url {url:?}: not a valid id"))),
        _ => Err(bad(format!(
            "request.url {url:?} is not Type, Type/id or Type?query"
        ))),
    }
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// One entry; an error here refuses a whole transaction, or answers that entry of a batch.
fn parse_entry(
    index: usize,
    e: &Value,
    base: &str,
    max_nodes: usize,
) -> Result<Request, FhirError> {
    let full_url = text(e, "fullUrl").map(str::to_owned);
    let label = match &full_url {
        Some(u) => format!("entry[{index}] ({u})"),
        None => format!("entry[{index}]"),
    };
    let req = e
        .get("request")
        .ok_or_else(|| bad(format!("{label}: request is missing")))?;
    let verb = match text(req, "method") {
        Some("GET") => Verb::Get,
        Some("POST") => Verb::Post,
        Some("PUT") => Verb::Put,
        Some("DELETE") => Verb::Delete,
        Some("PATCH") => Verb::Patch,
        Some(m) => {
            return Err(FhirError::invalid(
                IssueCode::NotSupported,
                None,
                format!("{label}: request.method {m} is not supported"),
            ))
        }
        None => return Err(bad(format!("{label}: request.method is missing"))),
    };
    let url = text(req, "url").ok_or_else(|| bad(format!("{label}: request.url is missing")))?;
    let target = parse_url(url, base).map_err(|e| super::name_entry(e, &label))?;
    let resource = match (verb, e.get("resource")) {
        (Verb::Post | Verb::Put, Some(Value::Object(m))) => {
            let named = m.get("resourceType").and_then(Value::as_str);
            if named != Some(target.rtype().as_str()) {
                return Err(bad(format!(
                    "{label}: the resource's resourceType does not match request.url"
                )));
            }
            Some(m.clone())
        }
        (Verb::Post | Verb::Put, _) => {
            return Err(bad(format!("{label}: a {verb:?} entry needs a resource")))
        }
        _ => None,
    };
    let patch = match (verb, e.get("resource")) {
        (Verb::Patch, Some(r)) => {
            Some(PatchDoc::from_entry(r, max_nodes).map_err(|e| super::name_entry(e, &label))?)
        }
        (Verb::Patch, None) => {
            return Err(bad(format!(
                "{label}: a PATCH entry needs a resource (a Binary or Parameters)"
            )))
        }
        _ => None,
    };
    match (verb, &target) {
        (Verb::Post, Target::Type(_))
        | (Verb::Put | Verb::Patch, Target::Instance(..) | Target::Search(..))
        | (Verb::Delete, Target::Instance(..) | Target::Search(..))
        | (Verb::Get, Target::Instance(..) | Target::Search(..) | Target::Type(_)) => {}
        _ => {
            return Err(bad(format!(
                "{label}: {verb:?} {url} is not a valid interaction"
            )))
        }
    }
    let if_modified_since = match text(req, "ifModifiedSince") {
        None => None,
        Some(s) => Some(
            DateTime::parse_from_rfc3339(s)
                .map_err(|_| {
                    bad(format!(
                        "{label}: request.ifModifiedSince is not an instant"
                    ))
                })?
                .with_timezone(&Utc),
        ),
    };
    if verb != Verb::Get && !target.rtype().client_writable() {
        return Err(FhirError::MethodNotAllowed(format!(
            "{label}: {}s are written by the server only",
            target.rtype()
        )));
    }
    Ok(Request {
        index,
        full_url,
        verb,
        target,
        resource,
        patch,
        if_none_exist: text(req, "ifNoneExist").map(str::to_owned),
        if_match: text(req, "ifMatch").map(str::to_owned),
        if_none_match: text(req, "ifNoneMatch").map(str::to_owned),
        if_modified_since,
    })
}

/// The Bundle's kind and its entries, each parsed or refused. More entries than
/// `max` is refused before anything else (413); a PATCH entry's JSON Patch may
/// hold `max_nodes` JSON values.
pub fn parse_bundle(
    value: &Value,
    base: &str,
    max: usize,
    max_nodes: usize,
) -> Result<(Kind, Vec<Result<Request, FhirError>>), FhirError> {
    if text(value, "resourceType") != Some("Bundle") {
        return Err(bad("POST to the base takes a Bundle".into()));
    }
    let kind = match text(value, "type") {
        Some("transaction") => Kind::Transaction,
        Some("batch") => Kind::Batch,
        Some(t) => {
            return Err(FhirError::invalid(
                IssueCode::NotSupported,
                Some("Bundle.type"),
                format!("a Bundle of type {t} cannot be processed; POST a transaction or batch"),
            ))
        }
        None => return Err(bad("Bundle.type is missing".into())),
    };
    let entries = match value.get("entry") {
        None => &[][..],
        Some(Value::Array(a)) => a.as_slice(),
        Some(_) => return Err(bad("Bundle.entry must be an array".into())),
    };
    if entries.len() > max {
        return Err(FhirError::TooManyEntries(max));
    }
    unique_full_urls(entries)?;
    Ok((
        kind,
        entries
            .iter()
            .enumerate()
            .map(|(i, e)| parse_entry(i, e, base, max_nodes))
            .collect(),
    ))
}

/// bdl-7 (bundle.html, Bundle invariants): "FullUrl must be unique in a
/// bundle, or else entries with the same fullUrl must have different
/// meta.versionId (except in history bundles)"; FHIRPath
/// `entry.where(fullUrl.exists()).select(fullUrl&resource.meta.versionId).isDistinct()`.
/// A Bundle breaking it is not valid R4, so none of it is carried out.
fn unique_full_urls(entries: &[Value]) -> Result<(), FhirError> {
    let mut seen: BTreeMap<(&str, Option<&str>), Vec<usize>> = BTreeMap::new();
    for (i, e) in entries.iter().enumerate() {
        if let Some(url) = text(e, "fullUrl") {
            let version = e
                .get("resource")
                .and_then(|r| r.get("meta"))
                .and_then(|m| text(m, "versionId"));
            seen.entry((url, version)).or_default().push(i);
        }
    }
    let issues: Vec<Issue> = seen
        .into_iter()
        .filter(|(_, at)| at.len() > 1)
        .take(fhirgate_validate::MAX_ISSUES)
        .map(|((url, _), at)| {
            let named: Vec<String> = at.iter().map(|i| format!("entry[{i}]")).collect();
            Issue {
                code: IssueCode::Invariant,
                expression: at.first().map(|i| format!("Bundle.entry[{i}].fullUrl")),
                diagnostics: format!(
                    "bdl-7: FullUrl must be unique in a bundle, or else entries with the same fullUrl must have different meta.versionId; {} share the fullUrl {url}",
                    named.join(", ")
                ),
            }
        })
        .collect();
    if issues.is_empty() {
        Ok(())
    } else {
        Err(FhirError::Invalid(issues))
    }
}
