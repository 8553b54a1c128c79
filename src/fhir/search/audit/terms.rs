//! AuditEvent parameters answered from `audit_events.terms` (the encoding is in
//! src/audit/terms.rs). An exact term is `r.terms @> ARRAY[$n]::text[]`, which
//! the GIN index answers; prefixes (`:below`, string starts-with, `:missing`)
//! scan the row's own terms. Every value is bound.

use fhirgate_search::ParamType;

use super::super::criteria::{split_unescaped, unescape};
use super::super::leaf::missing_flag;
use super::super::modifier::Modifier;
use super::super::sql::{invalid_value, like_escape, unsupported, Query};
use crate::audit::terms::{blind, kind, system_code, term};
use crate::fhir::error::FhirError;
use crate::store::index::phi::{fold, is_phi};

pub(super) fn missing_value(param: &str) -> FhirError {
    invalid_value(param, ":missing takes true or false")
}

#[derive(Debug, Clone)]
pub enum TermTest {
    /// `:missing` (search.html#missing): true = no term of the parameter at all.
    Missing(bool),
    /// Some alternative matches; with `not` (token `:not`), none does.
    Match { not: bool, alts: Vec<TermAlt> },
}

/// One alternative, over the row's terms.
#[derive(Debug, Clone)]
pub enum TermAlt {
    /// The row has this term.
    Has(String),
    /// Some term starts with this.
    StartsWith(String),
    /// Some term starts with `head` and then contains `needle`.
    Contains {
        head: String,
        needle: String,
    },
    /// The row has the term of `kind` holding the blind index (`purpose`) of
    /// `value`: computed with the tenant's key when the search runs.
    Blind {
        purpose: &'static str,
        kind: &'static str,
        value: String,
    },
    Never,
}

pub(super) fn parse(
    p: &str,
    ptype: ParamType,
    m: Option<&Modifier>,
    values: &[String],
) -> Result<TermTest, FhirError> {
    if m == Some(&Modifier::Missing) {
        return missing_flag(values)
            .map(TermTest::Missing)
            .ok_or_else(|| missing_value(p));
    }
    let phi = is_phi("AuditEvent", p);
    let mut alts = Vec::new();
    for raw in values {
        alts.push(match ptype {
            ParamType::Token => token_term(p, m, phi, raw)?,
            ParamType::Reference => reference_term(p, m, raw)?,
            ParamType::Uri => uri_term(p, m, raw)?,
            ParamType::String => string_term(p, m, phi, raw)?,
            _ => return Err(unsupported(p, "this parameter type")),
        });
    }
    // token :not matches resources without the code, those with no value
    // included (search.html#modifiers).
    Ok(TermTest::Match {
        not: m == Some(&Modifier::Not),
        alts,
    })
}

/// search.html#token: `code`, `system|code`, `|code` (no system), `system|`.
fn token_term(p: &str, m: Option<&Modifier>, phi: bool, raw: &str) -> Result<TermAlt, FhirError> {
    if !matches!(m, None | Some(Modifier::Not)) {
        return Err(unsupported(p, "this modifier"));
    }
    let (system, code) = match split_unescaped(raw, '|').as_slice() {
        [code] => (None, unescape(code)),
        [system, rest @ ..] => (
            Some(unescape(system)),
            rest.iter()
                .map(|s| unescape(s))
                .collect::<Vec<_>>()
                .join("|"),
        ),
        [] => (None, String::new()),
    };
    if phi {
        // altid is a string element: it has no system, so `system|code`
        // matches nothing, and `code` and `|code` compare its blind index.
        return Ok(match (system.as_deref(), code.as_str()) {
            (_, "") => return Err(invalid_value(p, "a code is needed")),
            (None | Some(""), _) => TermAlt::Blind {
                purpose: "exact",
                kind: kind::BLIND_EXACT,
                value: code,
            },
            (Some(_), _) => TermAlt::Never,
        });
    }
    Ok(match (system.as_deref(), code.as_str()) {
        (None | Some(""), "") => return Err(invalid_value(p, "a token needs a code or a system")),
        (None, c) => TermAlt::Has(term(p, kind::CODE, c)),
        (Some(""), c) => TermAlt::Has(term(p, kind::NO_SYSTEM, c)),
        (Some(s), "") => TermAlt::Has(term(p, kind::SYSTEM, s)),
        (Some(s), c) => TermAlt::Has(system_code(p, s, c)),
    })
}

/// search.html#reference: `Type/id` (relative or absolute), `id`, or
/// `:Type` with an id.
fn reference_term(p: &str, m: Option<&Modifier>, raw: &str) -> Result<TermAlt, FhirError> {
    let v = unescape(raw);
    let type_modifier = match m {
        None => None,
        Some(Modifier::Type(t)) => Some(t.as_str()),
        Some(_) => return Err(unsupported(p, "this modifier")),
    };
    if v.is_empty() {
        return Err(invalid_value(p, "a reference is needed"));
    }
    Ok(match (type_modifier, crate::audit::terms::restful(&v)) {
        (Some(t), _) if !v.contains('/') => {
            TermAlt::Has(term(p, kind::REFERENCE, &format!("{t}/{v}")))
        }
        (Some(t), Some((ty, id))) if ty == t => {
            TermAlt::Has(term(p, kind::REFERENCE, &format!("{ty}/{id}")))
        }
        (Some(_), _) => TermAlt::Never,
        (None, Some((ty, id))) => TermAlt::Has(term(p, kind::REFERENCE, &format!("{ty}/{id}"))),
        // A plain id: any type (search.html#reference).
        (None, None) if !v.contains('/') => TermAlt::Has(term(p, kind::ID, &v)),
        // Not RESTful (urn:, canonical): compared as written.
        (None, None) => TermAlt::Has(term(p, kind::REFERENCE, &v)),
    })
}

/// search.html#uri: `=` matches the whole URI, `:below` those starting with it.
fn uri_term(p: &str, m: Option<&Modifier>, raw: &str) -> Result<TermAlt, FhirError> {
    let v = unescape(raw);
    Ok(match m {
        None => TermAlt::Has(term(p, kind::URI, &v)),
        Some(Modifier::Below) => TermAlt::StartsWith(term(p, kind::URI, &v)),
        Some(_) => return Err(unsupported(p, "this modifier")),
    })
}

/// search.html#string: starts-with on the folded value by default, `:exact`,
/// `:contains`. PHI strings are blind-indexed whole values: `:exact`, and a
/// default match on the whole folded value (docs/security.md).
fn string_term(p: &str, m: Option<&Modifier>, phi: bool, raw: &str) -> Result<TermAlt, FhirError> {
    let v = unescape(raw);
    let folded = fold(&v);
    if folded.is_empty() {
        return Err(invalid_value(p, "an empty string matches nothing useful"));
    }
    Ok(match (m, phi) {
        (Some(Modifier::Exact), true) => TermAlt::Blind {
            purpose: "exact",
            kind: kind::BLIND_EXACT,
            value: v,
        },
        (None, true) => TermAlt::Blind {
            purpose: "norm",
            kind: kind::BLIND_NORM,
            value: folded,
        },
        (Some(Modifier::Contains), true) => {
            return Err(unsupported(
                p,
                ":contains on an encrypted (PHI) field (use the default match or :exact)",
            ))
        }
        (Some(Modifier::Exact), false) => TermAlt::Has(term(p, kind::EXACT, &v)),
        (None, false) => TermAlt::StartsWith(term(p, kind::STRING, &folded)),
        (Some(Modifier::Contains), false) => TermAlt::Contains {
            head: format!("{p}|{}|", kind::STRING),
            needle: folded,
        },
        (Some(_), _) => return Err(unsupported(p, "this modifier")),
    })
}

impl Query<'_> {
    pub(super) fn term_condition(&mut self, p: &str, t: &TermTest) -> String {
        match t {
            TermTest::Missing(missing) => {
                // search.html#missing: no value at all for the parameter.
                let any = self.term_like(format!("{}%", like_escape(&format!("{p}|"))));
                if *missing {
                    format!("NOT {any}")
                } else {
                    any
                }
            }
            TermTest::Match { not, alts } => {
                let alts: Vec<String> = alts.iter().map(|a| self.term_alt(p, a)).collect();
                let any = format!("(({}))", alts.join(") OR ("));
                if *not {
                    format!("NOT {any}")
                } else {
                    any
                }
            }
        }
    }

    fn term_alt(&mut self, p: &str, a: &TermAlt) -> String {
        match a {
            TermAlt::Has(t) => self.has_term(t.clone()),
            TermAlt::StartsWith(t) => self.term_like(format!("{}%", like_escape(t))),
            TermAlt::Contains { head, needle } => {
                self.term_like(format!("{}%{}%", like_escape(head), like_escape(needle)))
            }
            TermAlt::Blind {
                purpose,
                kind,
                value,
            } => {
                let b = blind(self.ix, p, purpose, value);
                self.has_term(term(p, kind, &b))
            }
            TermAlt::Never => "FALSE".to_owned(),
        }
    }

    /// The row has exactly this term (GIN-indexed).
    fn has_term(&mut self, term: String) -> String {
        format!("r.terms @> ARRAY[{}]::text[]", self.text(term))
    }

    /// Some term of the row is LIKE `pattern` (already escaped).
    fn term_like(&mut self, pattern: String) -> String {
        format!(
            "EXISTS (SELECT 1 FROM unnest(r.terms) t WHERE t LIKE {})",
            self.text(pattern)
        )
    }
}
