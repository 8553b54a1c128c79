//! Plain token and local-reference criteria as `idx_keys` equality keys
//! (store/index/keys.rs has the encoding and the reason).

use fhirgate_search::ParamType;

use super::criteria::{unescape, Leaf};
use super::leaf::token_parts;
use super::sql::Query;
use crate::fhir::error::FhirError;
use crate::store::index::keys::{reference_search_key, token_search_key};
use crate::store::index::phi::{column, is_phi};

impl Query<'_> {
    /// A relative reference search value as (type, id), with an absolute URL under
    /// this server's base made relative (search.html#reference); None for other
    /// absolute URLs, which only match as written.
    pub(super) fn local_reference(
        &self,
        v: &str,
        forced: Option<&str>,
    ) -> Option<(Option<String>, String)> {
        let v = unescape(v);
        let v = match self
            .base
            .as_deref()
            .and_then(|b| v.strip_prefix(b))
            .and_then(|r| r.strip_prefix('/'))
        {
            Some(rel) => rel.to_owned(),
            None => v,
        };
        if v.contains("://") {
            return None;
        }
        let tail: Vec<&str> = v.rsplit('/').take(2).collect();
        match (tail.as_slice(), forced) {
            ([id], t) => Some((t.map(str::to_owned), (*id).to_owned())),
            ([id, t, ..], _) => Some((Some((*t).to_owned()), (*id).to_owned())),
            _ => None,
        }
    }

    /// The `idx_keys` keys of a plain token or reference criterion, one per
    /// comma-separated value and parameter holding its rows (`Leaf::rows_of`;
    /// any key matches); None when the criterion needs the per-value index
    /// tables (modifiers, absolute URLs).
    pub(super) fn equality_keys(&self, l: &Leaf) -> Result<Option<Vec<String>>, FhirError> {
        let rtype = self.rtype.as_str();
        let mut keys = Vec::with_capacity(l.values.len() * l.rows_of.len());
        match (l.param_type, l.modifier.as_deref()) {
            // `_id` is a column of `resources`, not an index value.
            (ParamType::Token, None) if l.param != "_id" => {
                let params: Vec<(&str, bool)> = l
                    .rows_of
                    .iter()
                    .map(|p| (p.as_str(), is_phi(rtype, p)))
                    .collect();
                for v in &l.values {
                    let Ok((system, code)) = token_parts(v) else {
                        return Ok(None);
                    };
                    for &(param, phi) in &params {
                        let code = if phi && !code.is_empty() {
                            hex::encode(self.ix.index(&column(rtype, param, "code"), &code).0)
                        } else {
                            code.clone()
                        };
                        match token_search_key(rtype, param, system.as_deref(), &code) {
                            Some(k) => keys.push(k),
                            None => return Ok(None),
                        }
                    }
                }
            }
            (ParamType::Reference, m)
                if m.is_none() || m.is_some_and(|t| l.targets.iter().any(|x| x == t)) =>
            {
                for v in &l.values {
                    let Some((t, id)) = self.local_reference(v, m) else {
                        return Ok(None);
                    };
                    for param in &l.rows_of {
                        keys.push(reference_search_key(rtype, param, t.as_deref(), &id));
                    }
                }
            }
            _ => return Ok(None),
        }
        Ok(Some(keys))
    }
}
