//! Plain token and local-reference criteria as `idx_keys` equality keys
//! (store/index/keys.rs has the encoding and the reason).

use super::criteria::Leaf;
use super::leaf::{ReferenceTest, Test, TokenTest};
use super::sql::Query;
use crate::store::index::keys::{reference_search_key, token_search_key};
use crate::store::index::phi::{column, is_phi};

impl Query<'_> {
    /// The `idx_keys` keys of a plain token or reference criterion, one per
    /// comma-separated value and parameter holding its rows (`Leaf::rows_of`;
    /// any key matches); None when the criterion needs the per-value index
    /// tables (modifiers, absolute URLs) or is refused.
    pub(super) fn equality_keys(&self, l: &Leaf) -> Option<Vec<String>> {
        let rtype = self.rtype.as_str();
        match l.test.as_ref().ok()? {
            Test::Token(TokenTest::Codes { not: false, values }) => {
                let mut keys = Vec::with_capacity(values.len() * l.rows_of.len());
                let params: Vec<(&str, bool)> = l
                    .rows_of
                    .iter()
                    .map(|p| (p.as_str(), is_phi(rtype, p)))
                    .collect();
                for v in values {
                    for &(param, phi) in &params {
                        let code = if phi && !v.code.is_empty() {
                            hex::encode(self.ix.index(&column(rtype, param, "code"), &v.code).0)
                        } else {
                            v.code.clone()
                        };
                        keys.push(token_search_key(rtype, param, v.system.as_deref(), &code)?);
                    }
                }
                Some(keys)
            }
            Test::Reference(ReferenceTest::Refs { typ, values }) => {
                let mut keys = Vec::with_capacity(values.len() * l.rows_of.len());
                for v in values {
                    let (t, id) = self.local_reference(v, typ.as_deref())?;
                    for param in &l.rows_of {
                        keys.push(reference_search_key(rtype, param, t.as_deref(), &id));
                    }
                }
                Some(keys)
            }
            _ => None,
        }
    }
}
