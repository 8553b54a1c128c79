//! Token parameters (http://hl7.org/fhir/R4/search.html#token): `[system|]code`
//! against `idx_token`, `:not`, and `:text` over the blind digests of the
//! text (text.rs). The terminology modifiers (`:above`, `:below`, `:in`,
//! `:not-in`, `:of-type`) need a terminology server and are refused. A PHI
//! code is compared by its blind index.

use super::Spec;
use crate::fhir::error::FhirError;
use crate::fhir::search::criteria::{split_unescaped, unescape, Leaf};
use crate::fhir::search::modifier::Modifier;
use crate::fhir::search::sql::{invalid_value, unsupported, Query};
use crate::model::ResourceType;
use crate::store::index::phi::fold;

/// A token search value: `system|code`, `|code` (no system), `system|` (any
/// code of the system) or `code` (any system), unescaped.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// None: any system; `Some("")`: no system.
    pub system: Option<String>,
    /// Empty: any code.
    pub code: String,
}

impl Token {
    /// None when the value has more than one unescaped `|`.
    pub fn parse(v: &str) -> Option<Self> {
        match split_unescaped(v, '|').as_slice() {
            [code] => Some(Self {
                system: None,
                code: unescape(code),
            }),
            [system, code] => Some(Self {
                system: Some(unescape(system)),
                code: unescape(code),
            }),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub enum TokenTest {
    /// Some value has one of these tokens; with `:not`, none has
    /// (search.html#modifiers: resources without a value match `:not`).
    Codes { not: bool, values: Vec<Token> },
    /// `:text`: each alternative's folded words.
    Text(Vec<Vec<String>>),
}

pub(super) fn parse(spec: &Spec<'_>, values: &[String]) -> Result<TokenTest, FhirError> {
    let param = spec.param();
    let not = match spec.modifier {
        None => false,
        Some(Modifier::Not) => true,
        Some(Modifier::Text) => return text_words(param, values).map(TokenTest::Text),
        Some(
            Modifier::Below | Modifier::Above | Modifier::In | Modifier::NotIn | Modifier::OfType,
        ) => return Err(unsupported(param, "this terminology modifier")),
        Some(_) => return Err(unsupported(param, "this modifier")),
    };
    let values = values
        .iter()
        .map(|v| {
            let t =
                Token::parse(v).ok_or_else(|| invalid_value(param, "a token is [system|]code"))?;
            if t.system.is_none() && t.code.is_empty() {
                return Err(invalid_value(param, "empty token"));
            }
            Ok(t)
        })
        .collect::<Result<_, _>>()?;
    Ok(TokenTest::Codes { not, values })
}

/// `:text` takes the default string match (search.html#string): folded
/// (case- and accent-insensitive), word by word.
fn text_words(param: &str, values: &[String]) -> Result<Vec<Vec<String>>, FhirError> {
    values
        .iter()
        .map(|v| {
            let folded = fold(&unescape(v));
            let words: Vec<String> = folded
                .split(' ')
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect();
            if words.is_empty() {
                return Err(invalid_value(param, ":text needs some text"));
            }
            Ok(words)
        })
        .collect()
}

impl Query<'_> {
    /// Whether the condition is negated, and its alternatives.
    pub(super) fn token(
        &mut self,
        rtype: ResourceType,
        l: &Leaf,
        t: &TokenTest,
    ) -> (bool, Vec<String>) {
        let (not, values) = match t {
            TokenTest::Text(words) => return (false, self.text_alternatives(rtype, l, words)),
            TokenTest::Codes { not, values } => (*not, values),
        };
        let mut alts = Vec::new();
        for v in values {
            let mut parts = Vec::new();
            match v.system.as_deref() {
                Some("") => parts.push("system IS NULL".to_owned()),
                Some(s) => parts.push(format!("system = {}", self.text(s))),
                None => {}
            }
            if !v.code.is_empty() {
                parts.push(if l.phi {
                    format!(
                        "code_bi = {}",
                        self.bind(self.blind(rtype, &l.param, "code", &v.code))
                    )
                } else {
                    format!("code = {}", self.text(v.code.as_str()))
                });
            }
            alts.push(parts.join(" AND "));
        }
        (not, alts)
    }
}
