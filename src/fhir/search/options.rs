//! The result parameters of a search (http://hl7.org/fhir/R4/search.html#2.21.1.1):
//! `_count`, `_sort`, `_total`, `_summary`, `_elements`, `_include`,
//! `_revinclude` and the `_page` links this server issues.

use fhirgate_search::{ParamType, Registry};
use fhirgate_validate::{IssueCode, Summary};

use super::criteria::searchable;
use super::include::Include;
use super::modifier::Modifier;
use super::page::{Cursor, SortKey, MAX_SORT_KEYS};
use crate::fhir::error::FhirError;
use crate::model::ResourceType;

pub const DEFAULT_COUNT: i64 = 50;
/// Larger `_count` values are lowered to this (search.html#count lets servers
/// return fewer than asked).
pub const MAX_COUNT: i64 = 1000;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Total {
    /// Not asked: given when the whole result fits on the first page (free).
    Default,
    None,
    Estimate,
    Accurate,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SummaryMode {
    Count,
    Filter(Summary),
}

pub struct Options {
    pub count: i64,
    pub sort: Vec<SortKey>,
    pub total: Total,
    pub summary: Option<SummaryMode>,
    pub elements: Option<Vec<String>>,
    pub include: Vec<Include>,
    pub revinclude: Vec<Include>,
    pub page: Option<Cursor>,
}

fn bad(msg: String) -> FhirError {
    FhirError::invalid(IssueCode::Invalid, None, msg)
}

fn once<'a>(seen: &mut Option<&'a str>, name: &str, v: &'a str) -> Result<(), FhirError> {
    if seen.replace(v).is_some() {
        return Err(bad(format!("{name} may be given only once")));
    }
    Ok(())
}

/// `_include` or `_revinclude`, plain or `:iterate` (search.html#include), as
/// (reverse, iterate); None for other names (and other modifiers, which are
/// ignored).
fn include_kind(name: &str) -> Option<(bool, bool)> {
    let (name, modifier) = match name.split_once(':') {
        Some((n, m)) => (n, Some(Modifier::parse(m))),
        None => (name, None),
    };
    let reverse = match name {
        "_include" => false,
        "_revinclude" => true,
        _ => return None,
    };
    match modifier {
        None => Some((reverse, false)),
        Some(m) if m.iterates() => Some((reverse, true)),
        Some(_) => None,
    }
}

pub fn parse_options(
    reg: &Registry,
    rtype: ResourceType,
    query: &[(String, String)],
) -> Result<Options, FhirError> {
    let mut o = Options {
        count: DEFAULT_COUNT,
        sort: Vec::new(),
        total: Total::Default,
        summary: None,
        elements: None,
        include: Vec::new(),
        revinclude: Vec::new(),
        page: None,
    };
    let (mut count, mut sort, mut total, mut summary, mut page) = (None, None, None, None, None);
    for (k, v) in query {
        match k.as_str() {
            "_count" => once(&mut count, k, v)?,
            "_sort" => once(&mut sort, k, v)?,
            "_total" => once(&mut total, k, v)?,
            "_summary" => once(&mut summary, k, v)?,
            "_page" => once(&mut page, k, v)?,
            "_elements" => o.elements.get_or_insert_with(Vec::new).extend(
                v.split(',')
                    .map(str::trim)
                    .filter(|e| !e.is_empty())
                    .map(str::to_owned),
            ),
            _ => match include_kind(k) {
                Some((false, iterate)) => o.include.push(Include::parse(reg, v, iterate, false)?),
                Some((true, iterate)) => o.revinclude.push(Include::parse(reg, v, iterate, true)?),
                None => {}
            },
        }
    }
    if let Some(c) = count {
        // A count too large for i64 is still a count: lower it like any other.
        o.count = if !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit()) {
            c.parse::<i64>().unwrap_or(MAX_COUNT).min(MAX_COUNT)
        } else {
            return Err(bad("_count must be a non-negative integer".into()));
        };
    }
    if let Some(s) = sort {
        for key in s.split(',') {
            let (desc, code) = match key.strip_prefix('-') {
                Some(c) => (true, c),
                None => (false, key),
            };
            if !searchable(reg, rtype, code) {
                return Err(FhirError::invalid(
                    IssueCode::NotSupported,
                    None,
                    format!(
                        "_sort: {code:?} is not a search parameter of {rtype} this server supports"
                    ),
                ));
            }
            let def = reg.get(rtype.as_str(), code);
            let param_type = def.map_or(ParamType::Special, |d| d.param_type);
            o.sort.push(super::page::SortKey {
                param: code.to_owned(),
                rows_of: def.map_or_else(|| vec![code.to_owned()], |d| d.index_params()),
                param_type,
                desc,
            });
        }
        if o.sort.len() > MAX_SORT_KEYS {
            return Err(bad(format!("_sort takes at most {MAX_SORT_KEYS} keys")));
        }
    }
    o.total = match total {
        None => Total::Default,
        Some("none") => Total::None,
        Some("estimate") => Total::Estimate,
        Some("accurate") => Total::Accurate,
        Some(_) => return Err(bad("_total must be none, estimate or accurate".into())),
    };
    o.summary = match summary {
        None => None,
        Some("count") => Some(SummaryMode::Count),
        Some(s) => Some(SummaryMode::Filter(Summary::parse(s).ok_or_else(|| {
            bad("_summary must be true, text, data, count or false".into())
        })?)),
    };
    if o.summary.is_some() && o.elements.is_some() {
        // search.html#summary: "_summary and _elements SHALL NOT be used together".
        return Err(bad("_summary and _elements cannot be used together".into()));
    }
    o.page = page.map(Cursor::decode).transpose()?;
    Ok(o)
}
