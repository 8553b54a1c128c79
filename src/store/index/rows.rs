//! IndexEntry values turned into column vectors, one multi-row INSERT per table
//! (`INSERT .. SELECT .. FROM unnest($4, $5, ..)`, every value a bind
//! parameter), staged into a statement that may carry other tables' rows too
//! (store/batch.rs).

mod stage;

use chrono::{DateTime, Utc};
use fhirgate_search::{IndexEntry, IndexValue};

use super::keys::{reference_keys, token_keys};
use super::phi::{
    column, date_precisions, fold, is_decimal, is_phi, prefix_ends, soundex, text_digests,
};
use crate::crypto::BlindIndexer;

type T = Option<String>;
type B = Option<Vec<u8>>;
type D = Option<DateTime<Utc>>;

/// Index rows of one or more resources of one type, as column vectors (one
/// vector per column, bound as arrays; the tuples mirror the tables' columns).
#[derive(Default)]
#[allow(clippy::type_complexity)]
pub struct IndexRows {
    /// The resource each row belongs to, per table (string, token, date, reference, quantity, number, uri, composite).
    ids: [Vec<String>; 8],
    current: String,
    /// (param, value_norm, value_exact, exact_bi, norm_bi, prefix blind indexes
    /// concatenated: PREFIX_LEN bytes each, split into the bytea[] column in SQL)
    string: (Vec<String>, Vec<T>, Vec<T>, Vec<B>, Vec<B>, Vec<B>),
    /// (param, system, code, code_bi, text word-prefix digests concatenated)
    token: (Vec<String>, Vec<T>, Vec<T>, Vec<B>, Vec<B>),
    date: (Vec<String>, Vec<D>, Vec<D>, Vec<B>),
    reference: (Vec<String>, Vec<T>, Vec<T>, Vec<T>, Vec<T>, Vec<T>, Vec<B>),
    /// (param, value, system, code, unit_bi)
    quantity: (Vec<String>, Vec<String>, Vec<T>, Vec<T>, Vec<B>),
    number: (Vec<String>, Vec<String>),
    uri: (Vec<String>, Vec<String>),
    /// `idx_keys`: (resource id, key) pairs, aggregated per resource in SQL.
    keys: (Vec<String>, Vec<String>),
    /// The current resource's keys, de-duplicated when it is complete.
    pending_keys: Vec<String>,
    composite: (
        Vec<String>,
        Vec<T>,
        Vec<T>,
        Vec<T>,
        Vec<T>,
        Vec<T>,
        Vec<D>,
        Vec<D>,
        Vec<T>,
    ),
}

impl IndexRows {
    /// Adds the rows of one resource.
    pub fn add_resource(
        &mut self,
        ix: &BlindIndexer,
        rtype: &str,
        id: &str,
        entries: &[IndexEntry],
    ) {
        self.current = id.to_owned();
        for e in entries {
            self.add(ix, rtype, &e.param, &e.value);
        }
        let mut keys = std::mem::take(&mut self.pending_keys);
        keys.sort_unstable();
        keys.dedup();
        self.keys
            .0
            .extend(std::iter::repeat_n(id.to_owned(), keys.len()));
        self.keys.1.extend(keys);
        let lens = [
            self.string.0.len(),
            self.token.0.len(),
            self.date.0.len(),
            self.reference.0.len(),
            self.quantity.0.len(),
            self.number.0.len(),
            self.uri.0.len(),
            self.composite.0.len(),
        ];
        for (ids, n) in self.ids.iter_mut().zip(lens) {
            ids.resize(n, self.current.clone());
        }
    }

    fn push_string(&mut self, p: String, norm: T, exact: T, exact_bi: B, norm_bi: B, prefixes: B) {
        let s = &mut self.string;
        s.0.push(p);
        s.1.push(norm);
        s.2.push(exact);
        s.3.push(exact_bi);
        s.4.push(norm_bi);
        s.5.push(prefixes);
    }

    fn add(&mut self, ix: &BlindIndexer, rtype: &str, param: &str, value: &IndexValue) {
        // _id and _lastUpdated are answered from the resources table itself.
        if param == "_id" || param == "_lastUpdated" {
            return;
        }
        let phi = is_phi(rtype, param);
        let bi = |purpose: &str, v: &str| ix.index(&column(rtype, param, purpose), v).0;
        let p = param.to_owned();
        match value {
            IndexValue::String(s) => {
                let folded = fold(s);
                if folded.is_empty() {
                    return;
                }
                if param == "phonetic" {
                    // One row per name word, keyed by its Soundex code (PHI: blind).
                    for code in folded.split(' ').filter_map(soundex) {
                        let (v, b) = if phi {
                            (None, Some(bi("norm", &code)))
                        } else {
                            (Some(code), None)
                        };
                        self.push_string(p.clone(), v, None, None, b, None);
                    }
                } else if phi {
                    let ends = prefix_ends(&folded);
                    let prefixes = ix.prefixes(
                        &column(rtype, param, "prefix"),
                        &folded,
                        &ends,
                        crate::crypto::blind::PREFIX_LEN,
                    );
                    self.push_string(
                        p,
                        None,
                        None,
                        Some(bi("exact", s)),
                        Some(bi("norm", &folded)),
                        Some(prefixes),
                    );
                } else {
                    self.push_string(p, Some(folded), Some(s.clone()), None, None, None);
                }
            }
            IndexValue::Token { system, code, text } => {
                self.token.0.push(p);
                self.token.1.push(system.clone());
                let key_code = match code.as_deref() {
                    Some(c) if phi => Some(hex::encode(bi("code", c))),
                    c => c.map(str::to_owned),
                };
                self.pending_keys.extend(token_keys(
                    rtype,
                    param,
                    system.as_deref(),
                    key_code.as_deref(),
                ));
                if phi {
                    self.token.2.push(None);
                    self.token.3.push(code.as_deref().map(|c| bi("code", c)));
                } else {
                    self.token.2.push(code.clone());
                    self.token.3.push(None);
                }
                self.token.4.push(
                    text.as_deref()
                        .map(|t| text_digests(ix, rtype, param, t))
                        .filter(|d| !d.is_empty()),
                );
            }
            IndexValue::Date { low, high } => {
                if phi {
                    for d in date_precisions(*low, *high) {
                        self.date.0.push(p.clone());
                        self.date.1.push(None);
                        self.date.2.push(None);
                        self.date.3.push(Some(bi("date", &d)));
                    }
                } else {
                    self.date.0.push(p);
                    self.date.1.push(Some(*low));
                    self.date.2.push(Some(*high));
                    self.date.3.push(None);
                }
            }
            IndexValue::Reference {
                reference,
                target_type,
                target_id,
                version,
                identifier,
            } => {
                let local = reference.as_deref().is_none_or(|r| !r.contains("://"));
                if let (Some(t_id), true) = (target_id.as_deref(), local) {
                    self.pending_keys.extend(reference_keys(
                        rtype,
                        param,
                        target_type.as_deref(),
                        t_id,
                    ));
                }
                self.reference.0.push(p);
                self.reference.1.push(target_type.clone());
                self.reference.2.push(target_id.clone());
                self.reference.3.push(version.clone());
                // Relative references are fully described by type/id; keep the text of
                // absolute and canonical ones, which marks them as not local (a
                // `Patient/1` on another server is not our Patient/1, search.html#reference),
                // and of local `#id` ones. Reference.reference is a `string`: anything
                // else in it is free text, which is never kept readable (issue #15).
                self.reference.4.push(reference.clone().filter(|r| {
                    (target_id.is_none() || r.contains("://"))
                        && (r.starts_with('#') || is_absolute_uri(r))
                }));
                let (isys, ival) = identifier.clone().unwrap_or((None, None));
                self.reference.5.push(isys);
                self.reference.6.push(
                    ival.as_deref()
                        .map(|v| ix.index(&column(rtype, param, "identifier"), v).0),
                );
            }
            IndexValue::Quantity {
                value,
                system,
                code,
                unit,
            } if is_decimal(value) => {
                self.quantity.0.push(p);
                self.quantity.1.push(value.clone());
                self.quantity.2.push(system.clone());
                self.quantity.3.push(code.clone());
                // Quantity.unit is free text (a string, not a code): only its
                // blind index is kept, for `||unit` (search.html#quantity).
                self.quantity.4.push(unit.as_deref().map(|u| bi("unit", u)));
            }
            IndexValue::Number { value } if is_decimal(value) => {
                self.number.0.push(p);
                self.number.1.push(value.clone());
            }
            IndexValue::Uri(u) => {
                self.uri.0.push(p);
                self.uri.1.push(u.clone());
            }
            IndexValue::Composite(parts) if !phi => self.add_composite(p, parts),
            _ => {}
        }
    }

    fn add_composite(&mut self, p: String, parts: &[IndexValue]) {
        let (Some(IndexValue::Token { system, code, .. }), Some(second)) =
            (parts.first(), parts.get(1))
        else {
            return;
        };
        let (mut s2, mut c2, mut v2, mut lo, mut hi, mut t2) = (None, None, None, None, None, None);
        match second {
            IndexValue::Token { system, code, .. } => (s2, c2) = (system.clone(), code.clone()),
            IndexValue::Quantity {
                value,
                system,
                code,
                ..
            } if is_decimal(value) => {
                (s2, c2, v2) = (system.clone(), code.clone(), Some(value.clone()));
            }
            IndexValue::Date { low, high } => (lo, hi) = (Some(*low), Some(*high)),
            IndexValue::String(s) => t2 = Some(fold(s)),
            _ => return,
        }
        let c = &mut self.composite;
        c.0.push(p);
        c.1.push(system.clone());
        c.2.push(code.clone());
        c.3.push(s2);
        c.4.push(c2);
        c.5.push(v2);
        c.6.push(lo);
        c.7.push(hi);
        c.8.push(t2);
    }

    /// Inserts every row in ONE statement (a data-modifying CTE per table that has
    /// rows), whatever the number of resources and tables: one round trip.
    /// True when no resource added produced a row.
    pub fn is_empty(&self) -> bool {
        self.keys.0.is_empty() && self.ids.iter().all(Vec::is_empty)
    }
}

/// `scheme ":" ...` (RFC 3986 section 3.1: a letter, then letters, digits,
/// `+`, `-` or `.`): an absolute URI, such as `http://...` or `urn:uuid:...`.
fn is_absolute_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.is_empty()
}
