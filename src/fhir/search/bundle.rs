//! The searchset Bundle (http://hl7.org/fhir/R4/search.html#bundle): entries with
//! search.mode match, a total, self/next links, and an OperationOutcome entry
//! (search.mode outcome) naming parameters that were ignored.

use actix_web::http::StatusCode;
use fhirgate_validate::IssueCode;

use super::{count, find_ids, parse_criteria};
use crate::fhir::bundle::{raw, Bundle, Entry, EntrySearch, Link};
use crate::fhir::context::{Ctx, Reply};
use crate::fhir::error::FhirError;
use crate::model::ResourceType;
use crate::store::{self, resources};

const DEFAULT_COUNT: i64 = 50;
const MAX_COUNT: i64 = 1000;

pub async fn search_reply(
    ctx: &mut Ctx,
    rtype: ResourceType,
    query: Vec<(String, String)>,
) -> Result<Reply, FhirError> {
    ctx.audit.query = Some(serde_urlencoded::to_string(&query).unwrap_or_default());
    let (criteria, unknown) = parse_criteria(&ctx.state.model.registry, rtype, &query)?;
    if !unknown.is_empty() && ctx.handling_strict() {
        return Err(FhirError::invalid(
            IssueCode::NotSupported,
            None,
            format!(
                "unknown or unsupported search parameters: {}",
                unknown.join(", ")
            ),
        ));
    }
    let mut limit = DEFAULT_COUNT;
    let mut after = None;
    for (k, v) in &query {
        match k.as_str() {
            "_count" => {
                limit = v
                    .parse::<i64>()
                    .ok()
                    .filter(|c| *c >= 0)
                    .ok_or_else(|| {
                        FhirError::invalid(
                            IssueCode::Invalid,
                            None,
                            "_count must be a non-negative integer",
                        )
                    })?
                    .min(MAX_COUNT)
            }
            "_page" => after = Some(v.clone()),
            _ => {}
        }
    }
    let (keyring, tenant) = (ctx.state.keyring.clone(), ctx.state.tenant.clone());
    let after2 = after.clone();
    let (total, found) = ctx
        .state
        .db
        .run(move |conn| {
            let ix = keyring.indexer(conn, tenant.as_str())?;
            let total = count(conn, &ix, &tenant, rtype, &criteria)?;
            let ids = find_ids(
                conn,
                &ix,
                &tenant,
                rtype,
                &criteria,
                after2.as_deref(),
                limit,
            )?;
            let mut found = Vec::with_capacity(ids.len());
            for id in ids {
                let body = if rtype == ResourceType::AuditEvent {
                    store::audit::read(conn, &keyring, &tenant, &id)?.map(|(_, b)| b)
                } else {
                    resources::read(conn, &keyring, &tenant, rtype, &id)?.and_then(|v| v.body)
                };
                if let Some(b) = body {
                    found.push((id, b));
                }
            }
            Ok::<_, FhirError>((total, found))
        })
        .await?;
    let base = ctx.base();
    let mut bundle = Bundle::new("searchset");
    bundle.total = Some(total);
    let params: Vec<(String, String)> = query
        .iter()
        .filter(|(k, _)| k != "_page")
        .cloned()
        .collect();
    let qs = serde_urlencoded::to_string(&params).unwrap_or_default();
    let mut self_params = params.clone();
    if let Some(a) = &after {
        self_params.push(("_page".into(), a.clone()));
    }
    bundle.link.push(Link {
        relation: "self",
        url: format!(
            "{base}/{rtype}?{}",
            serde_urlencoded::to_string(&self_params).unwrap_or_default()
        ),
    });
    if found.len() as i64 == limit && limit > 0 {
        if let Some((last, _)) = found.last() {
            let sep = if qs.is_empty() { "" } else { "&" };
            bundle.link.push(Link {
                relation: "next",
                url: format!("{base}/{rtype}?{qs}{sep}_page={last}"),
            });
        }
    }
    for (id, body) in found {
        bundle.entry.push(Entry {
            full_url: Some(format!("{base}/{rtype}/{id}")),
            resource: Some(raw(body.0)?),
            search: Some(EntrySearch { mode: "match" }),
            ..Entry::default()
        });
    }
    if !unknown.is_empty() {
        let oo = serde_json::json!({"resourceType": "OperationOutcome", "issue": [{
            "severity": "warning", "code": "not-supported",
            "diagnostics": format!("ignored unknown or unsupported search parameters: {}", unknown.join(", "))
        }]});
        bundle.entry.push(Entry {
            resource: Some(raw(
                serde_json::to_vec(&oo).map_err(|e| FhirError::Internal(e.to_string()))?
            )?),
            search: Some(EntrySearch { mode: "outcome" }),
            ..Entry::default()
        });
    }
    Ok(Reply::new(StatusCode::OK, Some(bundle.to_json()?)))
}
