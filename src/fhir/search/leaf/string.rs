//! String parameters (http://hl7.org/fhir/R4/search.html#string) against
//! `idx_string`: by default case- and accent-insensitive starts-with,
//! `:exact`, `:contains`; and `phonetic` (search.html#2.21.1.3: "a phonetic
//! match"), indexed as Soundex codes. A PHI string is matched through its
//! blind indexes: starts-with by prefix digests, `:exact`, no `:contains`.

use super::Spec;
use crate::fhir::error::FhirError;
use crate::fhir::search::criteria::{unescape, Leaf};
use crate::fhir::search::modifier::Modifier;
use crate::fhir::search::sql::{invalid_value, like_escape, unsupported, Bind, Query};
use crate::model::ResourceType;
use crate::store::index::phi::{fold, prefix_digest, soundex, MAX_PREFIX};

/// How a plaintext string matches (search.html#string, #modifiers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringMatch {
    StartsWith,
    Exact,
    Contains,
}

/// A string search value, unescaped, and folded (lower case, no accents).
#[derive(Debug, Clone)]
pub struct StringValue {
    pub written: String,
    pub folded: String,
}

impl StringValue {
    fn parse(v: &str) -> Self {
        let written = unescape(v);
        let folded = fold(&written);
        Self { written, folded }
    }
}

#[derive(Debug, Clone)]
pub enum StringTest {
    Plain {
        how: StringMatch,
        values: Vec<StringValue>,
    },
    /// A PHI string: starts-with (`exact` false) or `:exact`.
    Blind {
        exact: bool,
        values: Vec<StringValue>,
    },
    /// `phonetic` with no modifier: the Soundex code of each value.
    Phonetic(Vec<String>),
}

pub(super) fn parse(spec: &Spec<'_>, values: &[String]) -> Result<StringTest, FhirError> {
    let param = spec.param();
    if param == "phonetic" && spec.modifier.is_none() {
        // Indexed by Soundex code per name word (store/index/rows.rs).
        let codes = values
            .iter()
            .map(|v| {
                soundex(&unescape(v))
                    .ok_or_else(|| invalid_value(param, "the value has no letters"))
            })
            .collect::<Result<_, _>>()?;
        return Ok(StringTest::Phonetic(codes));
    }
    let how = match spec.modifier {
        None => StringMatch::StartsWith,
        Some(Modifier::Exact) => StringMatch::Exact,
        Some(Modifier::Contains) => StringMatch::Contains,
        Some(_) => return Err(unsupported(param, "this modifier")),
    };
    let values = values.iter().map(|v| StringValue::parse(v)).collect();
    if !spec.phi {
        return Ok(StringTest::Plain { how, values });
    }
    match how {
        StringMatch::StartsWith => Ok(StringTest::Blind {
            exact: false,
            values,
        }),
        StringMatch::Exact => Ok(StringTest::Blind {
            exact: true,
            values,
        }),
        StringMatch::Contains => Err(unsupported(
            param,
            ":contains on an encrypted (PHI) field (use the default starts-with match or :exact)",
        )),
    }
}

impl Query<'_> {
    pub(super) fn string(&mut self, rtype: ResourceType, l: &Leaf, t: &StringTest) -> Vec<String> {
        let param = l.param.as_str();
        let mut alts = Vec::new();
        match t {
            StringTest::Phonetic(codes) => {
                for code in codes {
                    alts.push(if l.phi {
                        format!(
                            "norm_bi = {}",
                            self.bind(self.blind(rtype, param, "norm", code))
                        )
                    } else {
                        format!("value_norm = {}", self.text(code.as_str()))
                    });
                }
            }
            StringTest::Plain { how, values } => {
                for v in values {
                    let pattern = match how {
                        StringMatch::Exact => {
                            alts.push(format!("value_exact = {}", self.text(v.written.as_str())));
                            continue;
                        }
                        StringMatch::Contains => format!("%{}%", like_escape(&v.folded)),
                        StringMatch::StartsWith => format!("{}%", like_escape(&v.folded)),
                    };
                    alts.push(format!("value_norm LIKE {}", self.text(pattern)));
                }
            }
            StringTest::Blind { exact, values } => {
                for v in values {
                    alts.push(if *exact {
                        // A value that matches as written also matches folded; both
                        // columns lead the one blind index (migration 000007).
                        format!(
                            "(norm_bi = {} AND exact_bi = {})",
                            self.bind(self.blind(rtype, param, "norm", &v.folded)),
                            self.bind(self.blind(rtype, param, "exact", &v.written))
                        )
                    } else if v.folded.chars().count() <= MAX_PREFIX {
                        // Prefixes are indexed up to MAX_PREFIX characters; a longer
                        // search string can only match a whole value of that text.
                        let d = prefix_digest(self.ix, rtype.as_str(), param, &v.folded);
                        format!(
                            "prefix_bis @> ARRAY[{}]::bytea[]",
                            self.bind(Bind::Bytes(d))
                        )
                    } else {
                        format!(
                            "norm_bi = {}",
                            self.bind(self.blind(rtype, param, "norm", &v.folded))
                        )
                    });
                }
            }
        }
        alts
    }
}
