//! `_include` and `_revinclude` (http://hl7.org/fhir/R4/search.html#include),
//! answered from the reference index. `:iterate` repeats them over what was
//! included, up to [`MAX_ROUNDS`] rounds and [`MAX_INCLUDED`] resources, so
//! reference cycles and `*` cannot make a search unbounded.

use std::collections::HashSet;

use diesel::sql_types::{Array, Nullable, Text};
use diesel::{PgConnection, QueryableByName, RunQueryDsl};
use fhirgate_search::{ParamType, Registry};
use fhirgate_validate::IssueCode;

use super::audit;
use crate::fhir::error::FhirError;
use crate::model::{ResourceId, ResourceType};
use crate::tenant::TenantId;

pub const MAX_ROUNDS: usize = 4;
pub const MAX_INCLUDED: usize = 1000;

/// `Source:param[:Target]`, or `*` for every reference parameter.
#[derive(Debug, Clone)]
pub struct Include {
    pub source: Option<ResourceType>,
    pub param: Option<String>,
    pub target: Option<ResourceType>,
    pub iterate: bool,
}

fn bad(v: &str) -> FhirError {
    FhirError::invalid(
        IssueCode::Invalid,
        None,
        format!("_include/_revinclude value {v:?} is not Type:parameter[:targetType] or * for a type served here"),
    )
}

impl Include {
    pub fn parse(reg: &Registry, v: &str, iterate: bool, reverse: bool) -> Result<Self, FhirError> {
        if v == "*" {
            return Ok(Self {
                source: None,
                param: None,
                target: None,
                iterate,
            });
        }
        let mut parts = v.split(':');
        let source = parts
            .next()
            .and_then(ResourceType::parse)
            .filter(|t| !audit::is_projected(*t))
            .ok_or_else(|| bad(v))?;
        let param = match parts.next() {
            Some("*") if !reverse => None,
            Some(p) => {
                let d = reg
                    .get(source.as_str(), p)
                    .filter(|d| d.param_type == ParamType::Reference)
                    .ok_or_else(|| bad(v))?;
                Some(d.code.clone())
            }
            None => return Err(bad(v)),
        };
        let target = match parts.next() {
            Some(t) => Some(ResourceType::parse(t).ok_or_else(|| bad(v))?),
            None => None,
        };
        if parts.next().is_some() {
            return Err(bad(v));
        }
        Ok(Self {
            source: Some(source),
            param,
            target,
            iterate,
        })
    }
}

#[derive(QueryableByName)]
struct Found {
    #[diesel(sql_type = Text)]
    t: String,
    #[diesel(sql_type = Text)]
    i: String,
}

fn forward(
    conn: &mut PgConnection,
    tenant: &TenantId,
    inc: &Include,
    from_type: ResourceType,
    ids: &[String],
) -> Result<Vec<Found>, FhirError> {
    if inc.source.is_some_and(|s| s != from_type) {
        return Ok(Vec::new());
    }
    Ok(diesel::sql_query(
        "SELECT DISTINCT target_type AS t, target_id AS i FROM idx_reference \
         WHERE tenant_id = $1 AND resource_type = $2 AND resource_id = ANY($3) \
         AND ($4::text IS NULL OR param = $4) AND ($5::text IS NULL OR target_type = $5) \
         AND target_type IS NOT NULL AND target_id IS NOT NULL AND url IS NULL",
    )
    .bind::<Text, _>(tenant.as_str())
    .bind::<Text, _>(from_type.as_str())
    .bind::<Array<Text>, _>(ids)
    .bind::<Nullable<Text>, _>(inc.param.as_deref())
    .bind::<Nullable<Text>, _>(inc.target.map(|t| t.as_str()))
    .load(conn)?)
}

fn reverse(
    conn: &mut PgConnection,
    tenant: &TenantId,
    inc: &Include,
    to_type: ResourceType,
    ids: &[String],
) -> Result<Vec<Found>, FhirError> {
    if inc.target.is_some_and(|t| t != to_type) {
        return Ok(Vec::new());
    }
    Ok(diesel::sql_query(
        "SELECT DISTINCT resource_type AS t, resource_id AS i FROM idx_reference \
         WHERE tenant_id = $1 AND target_type = $2 AND target_id = ANY($3) \
         AND url IS NULL AND ($4::text IS NULL OR resource_type = $4) AND ($5::text IS NULL OR param = $5)",
    )
    .bind::<Text, _>(tenant.as_str())
    .bind::<Text, _>(to_type.as_str())
    .bind::<Array<Text>, _>(ids)
    .bind::<Nullable<Text>, _>(inc.source.map(|t| t.as_str()))
    .bind::<Nullable<Text>, _>(inc.param.as_deref())
    .load(conn)?)
}

/// The resources to include for `matches` (all of type `rtype`), in discovery
/// order, without the matches themselves or duplicates. The bool is true when
/// [`MAX_INCLUDED`] cut the set short.
pub fn resolve(
    conn: &mut PgConnection,
    tenant: &TenantId,
    rtype: ResourceType,
    matches: &[ResourceId],
    include: &[Include],
    revinclude: &[Include],
) -> Result<(Vec<(ResourceType, ResourceId)>, bool), FhirError> {
    let mut seen: HashSet<(ResourceType, String)> = matches
        .iter()
        .map(|i| (rtype, i.as_str().to_owned()))
        .collect();
    let mut out = Vec::new();
    let mut frontier: Vec<(ResourceType, Vec<String>)> = vec![(
        rtype,
        matches.iter().map(|i| i.as_str().to_owned()).collect(),
    )];
    for round in 0..MAX_ROUNDS {
        let mut next: Vec<(ResourceType, String)> = Vec::new();
        for (t, ids) in &frontier {
            if ids.is_empty() {
                continue;
            }
            for inc in include.iter().filter(|i| round == 0 || i.iterate) {
                next.extend(
                    forward(conn, tenant, inc, *t, ids)?
                        .into_iter()
                        .filter_map(|f| {
                            ResourceType::parse(&f.t)
                                .filter(|t| !audit::is_projected(*t))
                                .map(|t| (t, f.i))
                        }),
                );
            }
            for inc in revinclude.iter().filter(|i| round == 0 || i.iterate) {
                next.extend(
                    reverse(conn, tenant, inc, *t, ids)?
                        .into_iter()
                        .filter_map(|f| {
                            ResourceType::parse(&f.t)
                                .filter(|t| !audit::is_projected(*t))
                                .map(|t| (t, f.i))
                        }),
                );
            }
        }
        let mut added: Vec<(ResourceType, Vec<String>)> = Vec::new();
        for (t, id) in next {
            if !seen.insert((t, id.clone())) {
                continue;
            }
            if out.len() >= MAX_INCLUDED {
                return Ok((out, true));
            }
            if let Some(rid) = ResourceId::parse(&id) {
                out.push((t, rid));
                match added.iter_mut().find(|(at, _)| *at == t) {
                    Some((_, v)) => v.push(id),
                    None => added.push((t, vec![id])),
                }
            }
        }
        if added.is_empty() {
            break;
        }
        frontier = added;
    }
    Ok((out, false))
}
