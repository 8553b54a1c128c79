//! Query-string parameters parsed into typed criteria.

use fhirgate_search::{ParamType, Registry};
use fhirgate_validate::IssueCode;

use super::RESULT_PARAMS;
use crate::fhir::error::FhirError;
use crate::model::ResourceType;

#[derive(Debug, Clone)]
pub struct Criterion {
    pub param: String,
    pub param_type: ParamType,
    pub modifier: Option<String>,
    /// Comma-separated alternatives (OR), with `\,` unescaped (search.html#escaping).
    pub values: Vec<String>,
}

fn split_values(raw: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if matches!(chars.peek(), Some(',' | '$' | '|' | '\\')) => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            ',' => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// Splits the query into criteria and the names of parameters not understood.
pub fn parse_criteria(
    registry: &Registry,
    rtype: ResourceType,
    query: &[(String, String)],
) -> Result<(Vec<Criterion>, Vec<String>), FhirError> {
    let mut criteria = Vec::new();
    let mut unknown = Vec::new();
    for (name, value) in query {
        if RESULT_PARAMS.contains(&name.as_str()) {
            continue;
        }
        let (code, modifier) = match name.split_once(':') {
            Some((c, m)) => (c, Some(m.to_owned())),
            None => (name.as_str(), None),
        };
        let Some(def) = registry.get(rtype.as_str(), code) else {
            unknown.push(name.clone());
            continue;
        };
        if value.is_empty() {
            return Err(FhirError::invalid(
                IssueCode::Invalid,
                None,
                format!("search parameter {code:?} has no value"),
            ));
        }
        criteria.push(Criterion {
            param: def.code.clone(),
            param_type: def.param_type,
            modifier,
            values: split_values(value),
        });
    }
    Ok((criteria, unknown))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commas_or_and_escapes() {
        assert_eq!(split_values("a,b"), vec!["a", "b"]);
        assert_eq!(split_values("a\\,b"), vec!["a,b"]);
        assert_eq!(split_values("sys|x"), vec!["sys|x"]);
    }
}
