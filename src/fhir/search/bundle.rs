//! The searchset Bundle (http://hl7.org/fhir/R4/search.html#bundle): entries with
//! search.mode match or include, a total when known or asked, self/first/next/
//! previous links, and an OperationOutcome entry (search.mode outcome) naming
//! what was ignored.

use fhirgate_validate::{apply_elements, apply_summary, IssueCode};

use super::include::{self, MAX_INCLUDED};
use super::options::{parse_options, Options, SummaryMode, Total};
use super::page::{self, Page};
use super::parse_criteria;
use super::sql::Query;
use crate::crypto::PhiBytes;
use crate::fhir::bundle::{raw, Bundle, Entry, EntrySearch, Link};
use crate::fhir::error::FhirError;
use crate::model::{ResourceId, ResourceType};
use crate::store::Unreadable;

/// Bodies found, in order: (type, id, JSON).
pub type Bodies = Vec<(ResourceType, ResourceId, PhiBytes)>;

/// What a search found (engine/search.rs runs it).
pub struct Found {
    pub total: Option<i64>,
    pub page: Page,
    pub matches: Bodies,
    pub included: Bodies,
    pub truncated: bool,
    pub unreadable: Vec<Unreadable>,
}

/// The OperationOutcome warnings of a searchset (search.mode `outcome`,
/// http://hl7.org/fhir/R4/search.html#errors and bundle.html#searchset):
/// (issue type, text) pairs, issue types from valueset-issue-type.html.
pub(crate) fn outcome_entry(issues: &[(&str, String)]) -> Result<Option<Entry>, FhirError> {
    if issues.is_empty() {
        return Ok(None);
    }
    let oo = serde_json::json!({"resourceType": "OperationOutcome", "issue": issues.iter().map(|(code, d)| serde_json::json!({
        "severity": "warning", "code": code, "diagnostics": d
    })).collect::<Vec<_>>()});
    Ok(Some(Entry {
        resource: Some(raw(
            serde_json::to_vec(&oo).map_err(|e| FhirError::Internal(e.to_string()))?
        )?),
        search: Some(EntrySearch { mode: "outcome" }),
        ..Entry::default()
    }))
}

/// The warning for each row a result left out because it did not open: one
/// bad row (a corrupt or forged ciphertext) must not take the search down.
pub(crate) fn unreadable_issues(skipped: &[Unreadable]) -> Vec<(&'static str, String)> {
    skipped
        .iter()
        .map(|u| {
            (
                "exception",
                format!(
                    "{}/{} is left out: its stored data could not be read (it does not decrypt); the operator's log has the details",
                    u.resource_type, u.id
                ),
            )
        })
        .collect()
}

fn entry_body(
    rtype: ResourceType,
    body: PhiBytes,
    opts: &Options,
) -> Result<Box<serde_json::value::RawValue>, FhirError> {
    let filter = matches!(opts.summary, Some(SummaryMode::Filter(_))) || opts.elements.is_some();
    if !filter {
        return raw(body.0);
    }
    let mut v: serde_json::Value =
        serde_json::from_slice(&body.0).map_err(|e| FhirError::Internal(e.to_string()))?;
    if let Some(SummaryMode::Filter(s)) = opts.summary {
        apply_summary(rtype.as_str(), &mut v, s);
    }
    if let Some(el) = &opts.elements {
        let names: Vec<&str> = el.iter().map(String::as_str).collect();
        apply_elements(rtype.as_str(), &mut v, &names);
    }
    raw(serde_json::to_vec(&v).map_err(|e| FhirError::Internal(e.to_string()))?)
}

/// A parsed search: criteria, ignored parameter names, and result options.
pub struct Prepared {
    pub criteria: Vec<super::Criterion>,
    pub unknown: Vec<String>,
    pub opts: Options,
}

/// Parses a search; unknown parameters are an error under `strict`
/// (`Prefer: handling=strict`, search.html#errors).
pub fn prepare(
    registry: &fhirgate_search::Registry,
    rtype: ResourceType,
    query: &[(String, String)],
    strict: bool,
) -> Result<Prepared, FhirError> {
    let (criteria, unknown) = parse_criteria(registry, rtype, query)?;
    if !unknown.is_empty() && strict {
        return Err(FhirError::invalid(
            IssueCode::NotSupported,
            None,
            format!(
                "unknown or unsupported search parameters: {}",
                unknown.join(", ")
            ),
        ));
    }
    let opts = parse_options(registry, rtype, query)?;
    Ok(Prepared {
        criteria,
        unknown,
        opts,
    })
}

/// Where a search gets the bodies of what it found: the engine's decision
/// point (engine/reads.rs), which leaves out what the principal may not read.
pub trait Reader {
    fn tenant(&self) -> &crate::tenant::TenantId;
    fn indexer(
        &self,
        conn: &mut diesel::PgConnection,
    ) -> Result<std::sync::Arc<crate::crypto::BlindIndexer>, FhirError>;
    fn bodies(
        &self,
        conn: &mut diesel::PgConnection,
        rtype: ResourceType,
        ids: &[ResourceId],
        skipped: &mut Vec<Unreadable>,
    ) -> Result<Bodies, FhirError>;
    /// What the principal may see of each type (search/confine.rs); None
    /// when it sees everything its decided searches reach.
    fn confinement(&self) -> Option<super::Confinement> {
        None
    }
}

/// Runs a prepared search on `conn` (inside a transaction or not); the
/// caller has decided the search itself (`Services::decide_search`).
pub fn execute(
    conn: &mut diesel::PgConnection,
    reader: &dyn Reader,
    rtype: ResourceType,
    base: &str,
    p: &Prepared,
) -> Result<Found, FhirError> {
    let opts = &p.opts;
    let tenant = reader.tenant();
    let ix = reader.indexer(conn)?;
    let mut q = Query::new(&ix, tenant, rtype).with_base(base.to_owned());
    // First: the criteria's chains and `_has` are confined as they are added.
    if let Some(c) = reader.confinement() {
        q.confine(&c)?;
    }
    for c in &p.criteria {
        q.add(c)?;
    }
    // `_summary=count` and `_count=0` ask for the number alone (search.html#count).
    let only_count = opts.summary == Some(SummaryMode::Count) || opts.count == 0;
    let mut total = match (only_count, opts.total) {
        (_, Total::None) => None,
        (true, _) | (_, Total::Accurate) => Some(q.count(conn)?),
        (_, Total::Estimate) => q.estimate(conn),
        _ => None,
    };
    let count = if only_count { 0 } else { opts.count };
    let page = page::page(conn, q, &opts.sort, opts.page.as_ref(), count)?;
    if opts.total == Total::Default && opts.page.is_none() && page.next.is_none() && count > 0 {
        total = i64::try_from(page.ids.len()).ok();
    }
    let mut unreadable = Vec::new();
    let matches = reader.bodies(conn, rtype, &page.ids, &mut unreadable)?;
    let (mut included, mut truncated) = (Vec::new(), false);
    if !opts.include.is_empty() || !opts.revinclude.is_empty() {
        let (refs, cut) = include::resolve(
            conn,
            tenant,
            rtype,
            &page.ids,
            &opts.include,
            &opts.revinclude,
        )?;
        truncated = cut;
        for t in ResourceType::ALL {
            let ids: Vec<ResourceId> = refs
                .iter()
                .filter(|(rt, _)| *rt == t)
                .map(|(_, i)| i.clone())
                .collect();
            if !ids.is_empty() {
                included.extend(reader.bodies(conn, t, &ids, &mut unreadable)?);
            }
        }
    }
    Ok(Found {
        total,
        page,
        matches,
        included,
        truncated,
        unreadable,
    })
}

/// The searchset Bundle of a search's results.
pub fn assemble(
    base: &str,
    rtype: ResourceType,
    query: &[(String, String)],
    prepared: &Prepared,
    found: Found,
) -> Result<Bundle, FhirError> {
    let (opts, unknown) = (&prepared.opts, &prepared.unknown);
    let mut bundle = Bundle::new("searchset");
    bundle.total = found.total;
    let params: Vec<(String, String)> = query
        .iter()
        .filter(|(k, _)| k != "_page")
        .cloned()
        .collect();
    let link = |page: Option<String>| {
        let mut p = params.clone();
        if let Some(c) = page {
            p.push(("_page".into(), c));
        }
        format!(
            "{base}/{rtype}?{}",
            serde_urlencoded::to_string(&p).unwrap_or_default()
        )
    };
    bundle.link.push(Link {
        relation: "self",
        url: link(opts.page.as_ref().map(|c| c.encode())),
    });
    bundle.link.push(Link {
        relation: "first",
        url: link(None),
    });
    if let Some(p) = &found.page.previous {
        bundle.link.push(Link {
            relation: "previous",
            url: link(Some(p.encode())),
        });
    }
    if let Some(n) = &found.page.next {
        bundle.link.push(Link {
            relation: "next",
            url: link(Some(n.encode())),
        });
    }
    for (t, id, body) in found.matches {
        bundle.entry.push(Entry {
            full_url: Some(format!("{base}/{t}/{id}")),
            resource: Some(entry_body(t, body, opts)?),
            search: Some(EntrySearch { mode: "match" }),
            ..Entry::default()
        });
    }
    for (t, id, body) in found.included {
        bundle.entry.push(Entry {
            full_url: Some(format!("{base}/{t}/{id}")),
            resource: Some(raw(body.0)?),
            search: Some(EntrySearch { mode: "include" }),
            ..Entry::default()
        });
    }
    let mut issues = Vec::new();
    if !unknown.is_empty() {
        issues.push((
            "not-supported",
            format!(
                "ignored unknown or unsupported search parameters: {}",
                unknown.join(", ")
            ),
        ));
    }
    if found.truncated {
        issues.push((
            "not-supported",
            format!("_include/_revinclude stopped at {MAX_INCLUDED} included resources"),
        ));
    }
    issues.extend(unreadable_issues(&found.unreadable));
    bundle.entry.extend(outcome_entry(&issues)?);
    Ok(bundle)
}
