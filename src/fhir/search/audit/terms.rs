//! AuditEvent parameters answered from `audit_events.terms` (the encoding is in
//! src/audit/terms.rs). An exact term is `r.terms @> ARRAY[$n]::text[]`, which
//! the GIN index answers; prefixes (`:below`, string starts-with, `:missing`)
//! scan the row's own terms. Every value is bound.

use fhirgate_search::ParamType;

use super::super::criteria::{split_unescaped, unescape, Leaf};
use super::super::sql::{invalid_value, like_escape, unsupported, Query};
use crate::audit::terms::{blind, kind, system_code, term};
use crate::fhir::error::FhirError;
use crate::store::index::phi::{fold, is_phi};

pub(super) fn missing_value(param: &str) -> FhirError {
    invalid_value(param, ":missing takes true or false")
}

impl Query<'_> {
    pub(super) fn audit_term_leaf(&mut self, c: &Leaf) -> Result<String, FhirError> {
        let p = c.param.as_str();
        let m = c.modifier.as_deref();
        if m == Some("missing") {
            // search.html#missing: no value at all for the parameter.
            let any = self.term_like(format!("{}%", like_escape(&format!("{p}|"))));
            return match c.values.as_slice() {
                [v] if v == "true" => Ok(format!("NOT {any}")),
                [v] if v == "false" => Ok(any),
                _ => Err(missing_value(p)),
            };
        }
        let phi = is_phi("AuditEvent", p);
        let mut alts = Vec::new();
        for raw in &c.values {
            alts.push(match c.param_type {
                ParamType::Token => self.token_term(p, m, phi, raw)?,
                ParamType::Reference => self.reference_term(p, m, raw)?,
                ParamType::Uri => self.uri_term(p, m, raw)?,
                ParamType::String => self.string_term(p, m, phi, raw)?,
                _ => return Err(unsupported(p, "this parameter type")),
            });
        }
        let any = format!("(({}))", alts.join(") OR ("));
        // token :not matches resources without the code, those with no value
        // included (search.html#modifiers).
        Ok(if m == Some("not") {
            format!("NOT {any}")
        } else {
            any
        })
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

    /// search.html#token: `code`, `system|code`, `|code` (no system), `system|`.
    fn token_term(
        &mut self,
        p: &str,
        m: Option<&str>,
        phi: bool,
        raw: &str,
    ) -> Result<String, FhirError> {
        if !matches!(m, None | Some("not")) {
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
                (None | Some(""), c) => {
                    let b = blind(self.ix, p, "exact", c);
                    self.has_term(term(p, kind::BLIND_EXACT, &b))
                }
                (Some(_), _) => "FALSE".to_owned(),
            });
        }
        Ok(match (system.as_deref(), code.as_str()) {
            (None | Some(""), "") => {
                return Err(invalid_value(p, "a token needs a code or a system"))
            }
            (None, c) => self.has_term(term(p, kind::CODE, c)),
            (Some(""), c) => self.has_term(term(p, kind::NO_SYSTEM, c)),
            (Some(s), "") => self.has_term(term(p, kind::SYSTEM, s)),
            (Some(s), c) => self.has_term(system_code(p, s, c)),
        })
    }

    /// search.html#reference: `Type/id` (relative or absolute), `id`, or
    /// `:Type` with an id.
    fn reference_term(&mut self, p: &str, m: Option<&str>, raw: &str) -> Result<String, FhirError> {
        let v = unescape(raw);
        let type_modifier = m.filter(|t| {
            t.starts_with(|c: char| c.is_ascii_uppercase())
                && t.chars().all(|c| c.is_ascii_alphanumeric())
        });
        if m.is_some() && type_modifier.is_none() {
            return Err(unsupported(p, "this modifier"));
        }
        if v.is_empty() {
            return Err(invalid_value(p, "a reference is needed"));
        }
        Ok(match (type_modifier, crate::audit::terms::restful(&v)) {
            (Some(t), _) if !v.contains('/') => {
                self.has_term(term(p, kind::REFERENCE, &format!("{t}/{v}")))
            }
            (Some(t), Some((ty, id))) if ty == t => {
                self.has_term(term(p, kind::REFERENCE, &format!("{ty}/{id}")))
            }
            (Some(_), _) => "FALSE".to_owned(),
            (None, Some((ty, id))) => {
                self.has_term(term(p, kind::REFERENCE, &format!("{ty}/{id}")))
            }
            // A plain id: any type (search.html#reference).
            (None, None) if !v.contains('/') => self.has_term(term(p, kind::ID, &v)),
            // Not RESTful (urn:, canonical): compared as written.
            (None, None) => self.has_term(term(p, kind::REFERENCE, &v)),
        })
    }

    /// search.html#uri: `=` matches the whole URI, `:below` those starting with it.
    fn uri_term(&mut self, p: &str, m: Option<&str>, raw: &str) -> Result<String, FhirError> {
        let v = unescape(raw);
        Ok(match m {
            None => self.has_term(term(p, kind::URI, &v)),
            Some("below") => self.term_like(format!("{}%", like_escape(&term(p, kind::URI, &v)))),
            Some(_) => return Err(unsupported(p, "this modifier")),
        })
    }

    /// search.html#string: starts-with on the folded value by default, `:exact`,
    /// `:contains`. PHI strings are blind-indexed whole values: `:exact`, and a
    /// default match on the whole folded value (docs/security.md).
    fn string_term(
        &mut self,
        p: &str,
        m: Option<&str>,
        phi: bool,
        raw: &str,
    ) -> Result<String, FhirError> {
        let v = unescape(raw);
        let folded = fold(&v);
        if folded.is_empty() {
            return Err(invalid_value(p, "an empty string matches nothing useful"));
        }
        Ok(match (m, phi) {
            (Some("exact"), true) => {
                let b = blind(self.ix, p, "exact", &v);
                self.has_term(term(p, kind::BLIND_EXACT, &b))
            }
            (None, true) => {
                let b = blind(self.ix, p, "norm", &folded);
                self.has_term(term(p, kind::BLIND_NORM, &b))
            }
            (Some("contains"), true) => {
                return Err(unsupported(
                    p,
                    ":contains on an encrypted (PHI) field (use the default match or :exact)",
                ))
            }
            (Some("exact"), false) => self.has_term(term(p, kind::EXACT, &v)),
            (None, false) => {
                self.term_like(format!("{}%", like_escape(&term(p, kind::STRING, &folded))))
            }
            (Some("contains"), false) => self.term_like(format!(
                "{}%{}%",
                like_escape(&format!("{p}|{}|", kind::STRING)),
                like_escape(&folded)
            )),
            (Some(_), _) => return Err(unsupported(p, "this modifier")),
        })
    }
}
