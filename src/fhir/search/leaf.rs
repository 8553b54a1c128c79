//! One parameter on one resource type, by parameter type
//! (http://hl7.org/fhir/R4/search.html#ptypes) and modifier (#modifiers).
//! PHI parameters are matched through blind indexes only (docs/security.md).

use fhirgate_search::ParamType;

use super::criteria::{split_unescaped, unescape, Leaf};
use super::dates::{search_range, split_prefix};
use super::sql::{invalid_value, like_escape, unsupported, Bind, Query};
use super::values::{number_condition, parse_number};
use crate::fhir::error::FhirError;
use crate::model::ResourceType;
use crate::store::index::phi::{column, fold, is_phi, prefix_digest, soundex, MAX_PREFIX};

fn table(t: ParamType) -> Option<&'static str> {
    Some(match t {
        ParamType::String => "idx_string",
        ParamType::Token => "idx_token",
        ParamType::Date => "idx_date",
        ParamType::Reference => "idx_reference",
        ParamType::Quantity => "idx_quantity",
        ParamType::Number => "idx_number",
        ParamType::Uri => "idx_uri",
        ParamType::Composite => "idx_composite",
        ParamType::Special => return None,
    })
}

/// `system|code`, `|code`, `system|` or `code` (search.html#token).
pub(super) fn token_parts(v: &str) -> Result<(Option<String>, String), ()> {
    let parts = split_unescaped(v, '|');
    match parts.as_slice() {
        [code] => Ok((None, unescape(code))),
        [system, code] => Ok((Some(unescape(system)), unescape(code))),
        _ => Err(()),
    }
}

impl Query<'_> {
    fn blind(&self, rtype: ResourceType, param: &str, purpose: &str, v: &str) -> Bind {
        Bind::Bytes(self.ix.index(&column(rtype.as_str(), param, purpose), v).0)
    }

    pub(super) fn leaf(
        &mut self,
        col: &str,
        row: Option<&str>,
        rtype: ResourceType,
        l: &Leaf,
    ) -> Result<String, FhirError> {
        if l.param == "_id" || l.param == "_lastUpdated" {
            return self.resource_column(col, row, rtype, l);
        }
        let table =
            table(l.param_type).ok_or_else(|| unsupported(&l.param, "this parameter type"))?;
        if l.modifier.as_deref() == Some("missing") {
            // search.html#missing: true = no value at all, false = some value.
            let missing = match l.values.as_slice() {
                [v] if v == "true" => true,
                [v] if v == "false" => false,
                _ => return Err(invalid_value(&l.param, ":missing takes true or false")),
            };
            return Ok(self.in_index(col, missing, table, rtype, &l.rows_of, None));
        }
        let phi = is_phi(rtype.as_str(), &l.param);
        let m = l.modifier.as_deref();
        let mut alts = Vec::new();
        let mut negate = false;
        match l.param_type {
            ParamType::Token => {
                match m {
                    None => {}
                    Some("not") => negate = true,
                    Some("text") => {
                        let alts = self.text_alternatives(rtype, l)?;
                        return Ok(self.in_index(col, false, table, rtype, &l.rows_of, Some(alts)));
                    }
                    Some("below" | "above" | "in" | "not-in" | "of-type") => {
                        return Err(unsupported(&l.param, "this terminology modifier"))
                    }
                    Some(_) => return Err(unsupported(&l.param, "this modifier")),
                }
                for v in &l.values {
                    let (system, code) = token_parts(v)
                        .map_err(|()| invalid_value(&l.param, "a token is [system|]code"))?;
                    let mut parts = Vec::new();
                    match system.as_deref() {
                        Some("") => parts.push("system IS NULL".to_owned()),
                        Some(s) => parts.push(format!("system = {}", self.text(s))),
                        None => {}
                    }
                    if !code.is_empty() {
                        parts.push(if phi {
                            format!(
                                "code_bi = {}",
                                self.bind(self.blind(rtype, &l.param, "code", &code))
                            )
                        } else {
                            format!("code = {}", self.text(code))
                        });
                    }
                    if parts.is_empty() {
                        return Err(invalid_value(&l.param, "empty token"));
                    }
                    alts.push(parts.join(" AND "));
                }
            }
            ParamType::String if l.param == "phonetic" && m.is_none() => {
                // Indexed by Soundex code per name word (store/index/rows.rs).
                for v in &l.values {
                    let code = soundex(&unescape(v))
                        .ok_or_else(|| invalid_value(&l.param, "the value has no letters"))?;
                    alts.push(if phi {
                        format!(
                            "norm_bi = {}",
                            self.bind(self.blind(rtype, &l.param, "norm", &code))
                        )
                    } else {
                        format!("value_norm = {}", self.text(code))
                    });
                }
            }
            ParamType::String => {
                for v in &l.values {
                    let v = unescape(v);
                    let folded = fold(&v);
                    alts.push(match (m, phi) {
                        // A value that matches as written also matches folded; both
                        // columns lead the one blind index (migration 000007).
                        (Some("exact"), true) => format!(
                            "(norm_bi = {} AND exact_bi = {})",
                            self.bind(self.blind(rtype, &l.param, "norm", &folded)),
                            self.bind(self.blind(rtype, &l.param, "exact", &v))
                        ),
                        (Some("exact"), false) => format!("value_exact = {}", self.text(v)),
                        (Some("contains"), true) => {
                            return Err(unsupported(
                                &l.param,
                                ":contains on an encrypted (PHI) field (use the default starts-with match or :exact)",
                            ))
                        }
                        (Some("contains"), false) => {
                            format!("value_norm LIKE {}", self.text(format!("%{}%", like_escape(&folded))))
                        }
                        (Some(_), _) => return Err(unsupported(&l.param, "this modifier")),
                        // Prefixes are indexed up to MAX_PREFIX characters; a longer
                        // search string can only match a whole value of that text.
                        (None, true) if folded.chars().count() <= MAX_PREFIX => {
                            let d = prefix_digest(self.ix, rtype.as_str(), &l.param, &folded);
                            format!("prefix_bis @> ARRAY[{}]::bytea[]", self.bind(Bind::Bytes(d)))
                        }
                        (None, true) => {
                            format!("norm_bi = {}", self.bind(self.blind(rtype, &l.param, "norm", &folded)))
                        }
                        (None, false) => {
                            format!("value_norm LIKE {}", self.text(format!("{}%", like_escape(&folded))))
                        }
                    });
                }
            }
            ParamType::Reference => {
                let forced = match m {
                    None => None,
                    Some("identifier") => {
                        for v in &l.values {
                            let (system, value) = token_parts(v).map_err(|()| {
                                invalid_value(&l.param, "an identifier is [system|]value")
                            })?;
                            let mut s = format!(
                                "ident_bi = {}",
                                self.bind(self.blind(rtype, &l.param, "identifier", &value))
                            );
                            if let Some(sys) = system {
                                s.push_str(&format!(" AND ident_system = {}", self.text(sys)));
                            }
                            alts.push(s);
                        }
                        return Ok(self.in_index(col, false, table, rtype, &l.rows_of, Some(alts)));
                    }
                    // search.html#reference: `:[type]` names one of the parameter's
                    // target types, served here or not (a Group reference is still a reference).
                    Some(t) if l.targets.iter().any(|x| x == t) => Some(t),
                    Some(_) => return Err(unsupported(&l.param, "this modifier")),
                };
                for v in &l.values {
                    // An absolute URL matches as written; a relative one only local
                    // references (url IS NULL), not the same type/id on another server.
                    let Some((typ, id)) = self.local_reference(v, forced) else {
                        alts.push(format!("url = {}", self.text(unescape(v))));
                        continue;
                    };
                    let mut s = format!("target_id = {} AND url IS NULL", self.text(id));
                    if let Some(t) = typ {
                        s.push_str(&format!(" AND target_type = {}", self.text(t)));
                    }
                    alts.push(s);
                }
            }
            ParamType::Date => {
                if m.is_some() {
                    return Err(unsupported(&l.param, "this modifier"));
                }
                for v in &l.values {
                    let (prefix, date) = split_prefix(v);
                    if phi {
                        if prefix != "eq" {
                            return Err(unsupported(&l.param, "a comparison on an encrypted date (only equality at year, month or day precision)"));
                        }
                        search_range(&l.param, date)?;
                        alts.push(format!(
                            "value_bi = {}",
                            self.bind(self.blind(rtype, &l.param, "date", date))
                        ));
                        continue;
                    }
                    let (lo, hi) = search_range(&l.param, date)?;
                    alts.push(self.range_condition("low", "high", &l.param, prefix, lo, hi)?);
                }
            }
            ParamType::Uri => {
                for v in &l.values {
                    let v = unescape(v);
                    alts.push(match m {
                        None => format!("uri = {}", self.text(v)),
                        // search.html#uri: :below matches the value and every uri under it,
                        // :above every uri the value is under.
                        Some("below") => {
                            format!("uri LIKE {}", self.text(format!("{}%", like_escape(&v))))
                        }
                        Some("above") => {
                            let b = self.text(v);
                            format!("left({b}, length(uri)) = uri")
                        }
                        Some(_) => return Err(unsupported(&l.param, "this modifier")),
                    });
                }
            }
            ParamType::Number | ParamType::Quantity => {
                if m.is_some() {
                    return Err(unsupported(&l.param, "this modifier"));
                }
                for v in &l.values {
                    alts.push(self.quantity_condition(
                        "value",
                        "system",
                        "code",
                        Some((rtype, l.rows_of.as_slice())),
                        &l.param,
                        l.param_type,
                        v,
                    )?);
                }
            }
            ParamType::Composite => {
                if m.is_some() {
                    return Err(unsupported(&l.param, "this modifier"));
                }
                if phi {
                    return Err(unsupported(
                        &l.param,
                        "a composite over an encrypted (PHI) value",
                    ));
                }
                for v in &l.values {
                    alts.push(self.composite_condition(l, v)?);
                }
            }
            ParamType::Special => return Err(unsupported(&l.param, "this parameter type")),
        }
        Ok(self.in_index(col, negate, table, rtype, &l.rows_of, Some(alts)))
    }

    /// A date search range against a stored range (search.html#prefix, the
    /// "range" reading of each prefix).
    pub(super) fn range_condition(
        &mut self,
        low: &str,
        high: &str,
        param: &str,
        prefix: &str,
        lo: chrono::DateTime<chrono::Utc>,
        hi: chrono::DateTime<chrono::Utc>,
    ) -> Result<String, FhirError> {
        if prefix == "ap" {
            let (lo, hi) = super::dates::approximately(lo, hi, chrono::Utc::now());
            let (l, h) = (self.bind(Bind::Time(lo)), self.bind(Bind::Time(hi)));
            // The stored range overlaps the widened one (search.html#prefix).
            return Ok(format!("({low} <= {h} AND {high} >= {l})"));
        }
        let (l, h) = (self.bind(Bind::Time(lo)), self.bind(Bind::Time(hi)));
        let within = format!("({low} >= {l} AND {high} <= {h})");
        Ok(match prefix {
            "eq" => within,
            "ne" => format!("NOT {within}"),
            "gt" => format!("{high} > {h}"),
            "lt" => format!("{low} < {l}"),
            "ge" => format!("({high} > {h} OR {within})"),
            "le" => format!("({low} < {l} OR {within})"),
            "sa" => format!("{low} > {h}"),
            "eb" => format!("{high} < {l}"),
            _ => return Err(unsupported(param, "this prefix")),
        })
    }

    /// `[prefix]number[|system|code]` against value/system/code columns
    /// (search.html#quantity; `||code` matches the code or the unit text,
    /// whose blind index is kept under each of `unit`'s parameters).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn quantity_condition(
        &mut self,
        value_col: &str,
        system_col: &str,
        code_col: &str,
        unit: Option<(ResourceType, &[String])>,
        param: &str,
        ptype: ParamType,
        v: &str,
    ) -> Result<String, FhirError> {
        let parts = split_unescaped(v, '|');
        let (number, system, code) = match (ptype, parts.as_slice()) {
            (_, [n]) => (n.as_str(), None, None),
            (ParamType::Quantity, [n, s, c]) => (n.as_str(), Some(unescape(s)), Some(unescape(c))),
            _ => {
                return Err(invalid_value(
                    param,
                    "expected [prefix]number[|system|code]",
                ))
            }
        };
        let n = parse_number(number).ok_or_else(|| invalid_value(param, "not a number"))?;
        let (bv, bh) = (self.text(n.text), self.text(n.half_unit.clone()));
        let mut cond = number_condition(value_col, n.prefix, &bv, &bh)
            .ok_or_else(|| unsupported(param, "this prefix"))?;
        let system = system.filter(|s| !s.is_empty());
        let with_system = system.is_some();
        if let Some(s) = system {
            cond.push_str(&format!(" AND {system_col} = {}", self.text(s)));
        }
        if let Some(c) = code.filter(|c| !c.is_empty()) {
            let b = self.text(c.as_str());
            // search.html#quantity: `5.4||mg` matches "either the code (code) or
            // the stated human unit (unit)"; with a system, system and code.
            cond.push_str(&match unit.filter(|_| !with_system) {
                Some((rtype, parts)) => {
                    let u = self.unit_condition(rtype, parts, &c);
                    format!(" AND ({code_col} = {b} OR {u})")
                }
                None => format!(" AND {code_col} = {b}"),
            });
        }
        Ok(cond)
    }

    /// `token$value` against idx_composite (search.html#composite): the first
    /// component is a code, the second a token, quantity, date or string.
    fn composite_condition(&mut self, l: &Leaf, v: &str) -> Result<String, FhirError> {
        let comps = split_unescaped(v, '$');
        let ([first, second], [_, second_type]) = (comps.as_slice(), l.components.as_slice())
        else {
            return Err(invalid_value(&l.param, "a composite value is code$value"));
        };
        let (s1, c1) =
            token_parts(first).map_err(|()| invalid_value(&l.param, "bad first component"))?;
        let mut parts = Vec::new();
        match s1.as_deref() {
            Some("") => parts.push("c1_system IS NULL".to_owned()),
            Some(s) => parts.push(format!("c1_system = {}", self.text(s))),
            None => {}
        }
        if !c1.is_empty() {
            parts.push(format!("c1_code = {}", self.text(c1)));
        }
        match second_type {
            ParamType::Token => {
                let (s2, c2) = token_parts(second)
                    .map_err(|()| invalid_value(&l.param, "bad second component"))?;
                if let Some(s) = s2.filter(|s| !s.is_empty()) {
                    parts.push(format!("c2_system = {}", self.text(s)));
                }
                if !c2.is_empty() {
                    parts.push(format!("c2_code = {}", self.text(c2)));
                }
            }
            ParamType::Quantity | ParamType::Number => parts.push(self.quantity_condition(
                "c2_value",
                "c2_system",
                "c2_code",
                None,
                &l.param,
                ParamType::Quantity,
                second,
            )?),
            ParamType::Date => {
                let (prefix, date) = split_prefix(second);
                let (lo, hi) = search_range(&l.param, date)?;
                parts.push(self.range_condition("c2_low", "c2_high", &l.param, prefix, lo, hi)?);
            }
            ParamType::String => parts.push(format!(
                "c2_text LIKE {}",
                self.text(format!("{}%", like_escape(&fold(&unescape(second)))))
            )),
            _ => return Err(unsupported(&l.param, "this composite")),
        }
        Ok(parts.join(" AND "))
    }
}
