//! Query-string parameters parsed into typed criteria: plain parameters,
//! chains (`subject:Patient.name=x`, search.html#chaining) and reverse chains
//! (`_has:Observation:patient:code=x`, search.html#has).

use fhirgate_search::{ParamType, Registry};
use fhirgate_validate::IssueCode;

use super::audit;
use super::leaf::{self, Spec, Test};
use super::modifier::Modifier;
use super::RESULT_PARAMS;
use crate::fhir::error::FhirError;
use crate::model::ResourceType;
use crate::store::index::phi::is_phi;

/// How many chain or `_has` links one parameter may follow. Deeper searches are
/// refused (400) rather than run: each link is a join over the reference index.
pub const MAX_HOPS: usize = 3;
/// Limits on one search, so a hostile query cannot exceed Postgres' 65,535 bind
/// parameters or build an unbounded plan: comma alternatives per parameter, and
/// parameters per search.
pub const MAX_VALUES: usize = 100;
pub const MAX_PARAMS: usize = 64;

/// A parameter evaluated on the resource itself.
#[derive(Debug, Clone)]
pub struct Leaf {
    pub param: String,
    /// The parameters whose index rows hold `param`'s values: `param` itself,
    /// or the parts of a union parameter (fhirgate-search unions.rs).
    pub rows_of: Vec<String>,
    pub param_type: ParamType,
    /// `param` is PHI on its resource type: it is matched through blind
    /// indexes only (docs/security.md).
    pub phi: bool,
    /// The modifier and the comma-separated alternatives (OR), parsed for the
    /// parameter's type (`leaf.rs`), or why they are refused. A refusal is
    /// returned only when the search is built (`Query::add`), after the result
    /// parameters and (under `Prefer: handling=strict`) unknown parameters
    /// have been checked: a query with several faults reports the one it
    /// reported before values were parsed here.
    pub test: Result<Test, FhirError>,
}

#[derive(Debug, Clone)]
pub enum Criterion {
    Leaf(Leaf),
    /// The reference `param` points at a resource of one of the branch types that
    /// matches that branch's criterion.
    Chain {
        param: String,
        branches: Vec<(ResourceType, Criterion)>,
    },
    /// Some `source` resource whose reference `param` points at this resource
    /// matches `inner`.
    Has {
        source: ResourceType,
        param: String,
        inner: Box<Criterion>,
    },
}

fn bad(msg: String) -> FhirError {
    FhirError::invalid(IssueCode::Invalid, None, msg)
}

/// Splits at unescaped `sep`, keeping every escape sequence as written.
pub fn split_unescaped(raw: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            cur.push(c);
            if let Some(n) = chars.next() {
                cur.push(n);
            }
        } else if c == sep {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out
}

/// Removes the search escapes `\,` `\$` `\|` `\\` (search.html#escaping).
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && matches!(chars.peek(), Some(',' | '$' | '|' | '\\')) {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A parameter is searchable when the engine can answer it: `_id` and
/// `_lastUpdated` from the resources table, others from index rows that an
/// evaluable FHIRPath expression produced. Special parameters (`_text`,
/// `_content`, `near`, ...) are not.
pub fn searchable(registry: &Registry, rtype: ResourceType, code: &str) -> bool {
    if audit::is_projected(rtype) {
        return audit::searchable(code);
    }
    match registry.get(rtype.as_str(), code) {
        Some(d) if code == "_id" || code == "_lastUpdated" => d.param_type != ParamType::Special,
        Some(d) => d.param_type != ParamType::Special && registry.evaluable(rtype.as_str(), code),
        None => false,
    }
}

/// Parses one parameter name (with its value) on `rtype`. `Ok(None)` means the
/// parameter is unknown there (reported, not an error, search.html#errors).
fn parse_name(
    reg: &Registry,
    rtype: ResourceType,
    name: &str,
    value: &str,
    depth: usize,
) -> Result<Option<Criterion>, FhirError> {
    if depth > MAX_HOPS {
        return Err(FhirError::invalid(
            IssueCode::TooCostly,
            None,
            format!("search parameters may follow at most {MAX_HOPS} chained or _has links"),
        ));
    }
    if let Some(rest) = name.strip_prefix("_has:") {
        let mut parts = rest.splitn(3, ':');
        let (Some(src), Some(param), Some(inner)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad(
                "_has needs the form _has:Type:reference:parameter".into()
            ));
        };
        let source = ResourceType::parse(src).ok_or_else(|| {
            bad(format!(
                "_has: {src:?} is not a resource type this server serves"
            ))
        })?;
        if audit::is_projected(source) {
            return Err(FhirError::invalid(
                IssueCode::NotSupported,
                None,
                format!("_has over {source} is not supported"),
            ));
        }
        let def = reg
            .get(source.as_str(), param)
            .filter(|d| d.param_type == ParamType::Reference)
            .ok_or_else(|| bad(format!("_has: {src}.{param} is not a reference parameter")))?;
        if !def.targets.is_empty() && !def.targets.iter().any(|t| t == rtype.as_str()) {
            return Err(bad(format!("_has: {src}.{param} cannot refer to {rtype}")));
        }
        let param = def.code.clone();
        return Ok(
            parse_name(reg, source, inner, value, depth + 1)?.map(|inner| Criterion::Has {
                source,
                param,
                inner: Box::new(inner),
            }),
        );
    }
    let (head, tail) = match name.split_once('.') {
        Some((h, t)) => (h, Some(t)),
        None => (name, None),
    };
    let (code, modifier) = match head.split_once(':') {
        Some((c, m)) => (c, Some(Modifier::parse(m))),
        None => (head, None),
    };
    let Some(tail) = tail else {
        if !searchable(reg, rtype, code) {
            return Ok(None);
        }
        let Some(def) = reg.get(rtype.as_str(), code) else {
            return Ok(None);
        };
        if value.is_empty() {
            return Err(bad(format!("search parameter {code:?} has no value")));
        }
        let values = split_unescaped(value, ',');
        if values.len() > MAX_VALUES {
            return Err(FhirError::invalid(
                IssueCode::TooCostly,
                None,
                format!("{code}: at most {MAX_VALUES} comma-separated values"),
            ));
        }
        let components: Vec<ParamType> = def
            .components
            .iter()
            .filter_map(|(url, _)| reg.by_url(url).map(|d| d.param_type))
            .collect();
        let phi = is_phi(rtype.as_str(), &def.code);
        let spec = Spec {
            rtype,
            def,
            phi,
            modifier: modifier.as_ref(),
            components: &components,
        };
        return Ok(Some(Criterion::Leaf(Leaf {
            param: def.code.clone(),
            rows_of: def.index_params(),
            param_type: def.param_type,
            phi,
            test: leaf::parse(&spec, &values),
        })));
    };
    if audit::is_projected(rtype) {
        return Err(FhirError::invalid(
            IssueCode::NotSupported,
            None,
            format!("chained {rtype} parameters are not supported"),
        ));
    }
    let Some(def) = reg.get(rtype.as_str(), code) else {
        return Ok(None);
    };
    if def.param_type != ParamType::Reference {
        return Err(bad(format!(
            "{code} is not a reference parameter, so it cannot be chained"
        )));
    }
    let allowed =
        |t: &ResourceType| def.targets.is_empty() || def.targets.iter().any(|d| d == t.as_str());
    let targets: Vec<ResourceType> = match &modifier {
        Some(m) => {
            let t = match m {
                Modifier::Type(t) => ResourceType::parse(t).filter(allowed),
                _ => None,
            };
            let t = t.ok_or_else(|| {
                bad(format!(
                    "{code}:{}: not a target type of {code} served here",
                    m.as_str()
                ))
            })?;
            vec![t]
        }
        None => ResourceType::ALL
            .into_iter()
            .filter(|t| !audit::is_projected(*t) && allowed(t))
            .collect(),
    };
    let mut branches = Vec::new();
    for t in targets {
        if let Some(c) = parse_name(reg, t, tail, value, depth + 1)? {
            branches.push((t, c));
        }
    }
    if branches.is_empty() {
        return Ok(None);
    }
    Ok(Some(Criterion::Chain {
        param: def.code.clone(),
        branches,
    }))
}

/// Splits the query into criteria and the names of parameters not understood.
pub fn parse_criteria(
    registry: &Registry,
    rtype: ResourceType,
    query: &[(String, String)],
) -> Result<(Vec<Criterion>, Vec<String>), FhirError> {
    let mut criteria = Vec::new();
    let mut unknown = Vec::new();
    if query.len() > MAX_PARAMS {
        return Err(FhirError::invalid(
            IssueCode::TooCostly,
            None,
            format!("a search takes at most {MAX_PARAMS} parameters"),
        ));
    }
    for (name, value) in query {
        // Postgres text cannot hold NUL, and no FHIR value contains control characters.
        if name.chars().chain(value.chars()).any(|c| c.is_control()) {
            return Err(bad(format!(
                "search parameter {:?} contains control characters",
                name.escape_debug()
                    .to_string()
                    .chars()
                    .take(64)
                    .collect::<String>()
            )));
        }
        let bare = name.split(':').next().unwrap_or(name);
        if RESULT_PARAMS.contains(&bare) {
            continue;
        }
        match parse_name(registry, rtype, name, value, 0)? {
            Some(c) => criteria.push(c),
            None => unknown.push(name.clone()),
        }
    }
    Ok((criteria, unknown))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commas_or_and_escapes() {
        assert_eq!(split_unescaped("a,b", ','), vec!["a", "b"]);
        assert_eq!(split_unescaped("a\\,b", ','), vec!["a\\,b"]);
        assert_eq!(unescape("a\\,b"), "a,b");
        assert_eq!(split_unescaped("x\\$y$z", '$'), vec!["x\\$y", "z"]);
        assert_eq!(unescape("sys\\|x"), "sys|x");
        assert_eq!(unescape("a\\b"), "a\\b");
    }
}
