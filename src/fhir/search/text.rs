//! Searches over free text kept only as blind indexes (issue #15): `:text` on
//! tokens and the unit of `||unit` on quantities. docs/security.md says what
//! the digests reveal and how these matches differ from plaintext ones.

use super::criteria::Leaf;
use super::sql::{Bind, Query};
use crate::model::ResourceType;
use crate::store::index::phi::{column, text_word_digest};

impl Query<'_> {
    /// `:text` (search.html#modifiers: "the search parameter is processed as a
    /// string that searches text associated with the code/value", with the
    /// default string match, search.html#string: case- and accent-insensitive,
    /// starts-with). Each word of the search value must start a word of the
    /// stored text (prefixes up to 32 characters), in any order: the index
    /// holds word-prefix digests, not the text. One alternative per value (they
    /// OR; `values`: each one's folded words, leaf/token.rs) and per parameter
    /// whose rows hold the values ([`Leaf::rows_of`]: a digest is keyed by the
    /// parameter it was written under).
    pub(super) fn text_alternatives(
        &mut self,
        rtype: ResourceType,
        l: &Leaf,
        values: &[Vec<String>],
    ) -> Vec<String> {
        let mut alts = Vec::new();
        for words in values {
            for part in &l.rows_of {
                let mut conds = Vec::new();
                if l.rows_of.len() > 1 {
                    conds.push(format!("param = {}", self.text(part.as_str())));
                }
                for w in words {
                    let d = text_word_digest(self.ix, rtype.as_str(), part, w);
                    // Digests are PREFIX_LEN bytes, concatenated; a match across two
                    // of them would need a 64-bit collision of keyed HMAC output.
                    conds.push(format!(
                        "position({} IN text_bis) > 0",
                        self.bind(Bind::Bytes(d))
                    ));
                }
                alts.push(conds.join(" AND "));
            }
        }
        alts
    }

    /// `unit_bi` matches `unit` in one of `parts` (search.html#quantity: with no
    /// system, the code "is matched against the code and/or unit"): the unit's
    /// blind index under each parameter whose rows hold the values.
    pub(super) fn unit_condition(
        &mut self,
        rtype: ResourceType,
        parts: &[String],
        unit: &str,
    ) -> String {
        let mut alts = Vec::new();
        for part in parts {
            let bi = self.ix.index(&column(rtype.as_str(), part, "unit"), unit).0;
            let b = self.bind(Bind::Bytes(bi));
            alts.push(if parts.len() > 1 {
                format!("(param = {} AND unit_bi = {b})", self.text(part.as_str()))
            } else {
                format!("unit_bi = {b}")
            });
        }
        alts.join(" OR ")
    }
}
