//! Parameters whose index values are exactly those of other parameters.
//!
//! R4 defines Observation's `combo-*` parameters as unions of two others:
//! `combo-code` is `Observation.code | Observation.component.code`, which are
//! `code` and `component-code`; `combo-code-value-quantity` is the composite
//! `code-value-quantity` over `Observation | Observation.component`, whose two
//! bases are those of `code-value-quantity` and `component-code-value-quantity`
//! (search-parameters.json). Indexing such a parameter wrote its values a second
//! time: 31% of the index rows of the Observations the shared HL7 samples make
//! (docs/performance.md, session 7). Such a parameter is instead answered from
//! the rows of the parameters it is the union of ([`crate::SearchParamDef::union_of`]).
//!
//! The rule, for parameters of one resource type: P's expression is a union
//! (`|`) of members; other parameters of P's type (token, quantity, composite,
//! ...), none of them a union parameter itself, each have members all among
//! P's, and together they have all of P's members; there are at least two of
//! them; composites must have the same components (type and relative
//! expression, in order). The members are compared as parsed expressions.

use crate::fhirpath::{parse, Expr};
use crate::SearchParamDef;

fn flatten(e: Expr, out: &mut Vec<Expr>) {
    match e {
        Expr::Union(a, b) => {
            flatten(*a, out);
            flatten(*b, out);
        }
        other => out.push(other),
    }
}

fn members(expression: &str) -> Option<Vec<Expr>> {
    if expression.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    flatten(parse(expression).ok()?, &mut out);
    Some(out)
}

/// Fills `union_of` for each definition of one resource type (`defs` sorted by code).
/// `component_type` gives a composite component's parameter type by definition URL.
pub(crate) fn mark<F>(defs: &mut [SearchParamDef], component_type: F)
where
    F: Fn(&str) -> Option<crate::ParamType>,
{
    let parsed: Vec<Option<Vec<Expr>>> = defs.iter().map(|d| members(&d.expression)).collect();
    let components: Vec<Vec<(Option<crate::ParamType>, &str)>> = defs
        .iter()
        .map(|d| {
            d.components
                .iter()
                .map(|(url, e)| (component_type(url), e.as_str()))
                .collect()
        })
        .collect();
    let mut found = Vec::new();
    for (i, p) in defs.iter().enumerate() {
        let Some(pm) = parsed
            .get(i)
            .and_then(Option::as_ref)
            .filter(|m| m.len() >= 2)
        else {
            continue;
        };
        let mut parts: Vec<usize> = Vec::new();
        let mut covered = vec![false; pm.len()];
        for (j, q) in defs.iter().enumerate() {
            let Some(qm) = parsed.get(j).and_then(Option::as_ref) else {
                continue;
            };
            if j == i
                || q.param_type != p.param_type
                || qm.len() >= pm.len()
                || components.get(j) != components.get(i)
            {
                continue;
            }
            let at: Option<Vec<usize>> =
                qm.iter().map(|m| pm.iter().position(|x| x == m)).collect();
            if let Some(at) = at {
                for k in at {
                    if let Some(c) = covered.get_mut(k) {
                        *c = true;
                    }
                }
                parts.push(j);
            }
        }
        if parts.len() >= 2 && covered.iter().all(|c| *c) {
            found.push((i, parts));
        }
    }
    let unions: Vec<usize> = found.iter().map(|(i, _)| *i).collect();
    for (i, parts) in found {
        // A part that is itself a union would have no rows of its own.
        let codes: Vec<String> = parts
            .into_iter()
            .filter(|j| !unions.contains(j))
            .filter_map(|j| defs.get(j).map(|d| d.code.clone()))
            .collect();
        if let Some(d) = defs.get_mut(i) {
            if codes.len() >= 2 {
                d.union_of = codes;
            }
        }
    }
}
