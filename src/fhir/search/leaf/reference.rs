//! Reference parameters (http://hl7.org/fhir/R4/search.html#reference) against
//! `idx_reference`: `[Type/]id`, an absolute URL, `:[type]` naming one of the
//! parameter's target types, and `:identifier` (Reference.identifier, kept
//! as a blind index: an identifier can single out a patient).

use super::{Spec, Token};
use crate::fhir::error::FhirError;
use crate::fhir::search::criteria::{unescape, Leaf};
use crate::fhir::search::modifier::Modifier;
use crate::fhir::search::sql::{invalid_value, unsupported, Query};
use crate::model::ResourceType;

/// A reference search value, unescaped.
#[derive(Debug, Clone, PartialEq)]
pub enum RefValue {
    /// `[Type/]id`: the last two segments of a relative reference.
    Relative { typ: Option<String>, id: String },
    /// An absolute URL: a local reference when it is under this server's
    /// base, which is known only when the search runs ([`Query::local_reference`]).
    Absolute(String),
}

impl RefValue {
    fn parse(v: &str) -> Self {
        let v = unescape(v);
        if v.contains("://") {
            Self::Absolute(v)
        } else {
            let (typ, id) = relative(&v);
            Self::Relative { typ, id }
        }
    }
}

/// (type, id) of a relative reference: its last two segments, or the id alone.
fn relative(v: &str) -> (Option<String>, String) {
    let mut tail = v.rsplit('/');
    let id = tail.next().unwrap_or_default().to_owned();
    (tail.next().map(str::to_owned), id)
}

#[derive(Debug, Clone)]
pub enum ReferenceTest {
    /// Plain, or `:[type]` (`typ`): the type of a value given as an id alone.
    Refs {
        typ: Option<String>,
        values: Vec<RefValue>,
    },
    /// `:identifier`: `[system|]value` of the Reference.identifier.
    Identifier(Vec<Token>),
}

pub(super) fn parse(spec: &Spec<'_>, values: &[String]) -> Result<ReferenceTest, FhirError> {
    let param = spec.param();
    let typ = match spec.modifier {
        None => None,
        Some(Modifier::Identifier) => {
            let ids = values
                .iter()
                .map(|v| {
                    Token::parse(v)
                        .ok_or_else(|| invalid_value(param, "an identifier is [system|]value"))
                })
                .collect::<Result<_, _>>()?;
            return Ok(ReferenceTest::Identifier(ids));
        }
        // search.html#reference: `:[type]` names one of the parameter's
        // target types, served here or not (a Group reference is still a reference).
        Some(Modifier::Type(t)) if spec.def.targets.iter().any(|x| x == t) => Some(t.clone()),
        Some(_) => return Err(unsupported(param, "this modifier")),
    };
    Ok(ReferenceTest::Refs {
        typ,
        values: values.iter().map(|v| RefValue::parse(v)).collect(),
    })
}

impl Query<'_> {
    /// A reference search value as (type, id), with an absolute URL under this
    /// server's base made relative (search.html#reference); None for other
    /// absolute URLs, which only match as written. `forced` is the type of
    /// a value given as an id alone (`:[type]`).
    pub(in crate::fhir::search) fn local_reference(
        &self,
        v: &RefValue,
        forced: Option<&str>,
    ) -> Option<(Option<String>, String)> {
        let (typ, id) = match v {
            RefValue::Relative { typ, id } => (typ.clone(), id.clone()),
            RefValue::Absolute(url) => {
                let rel = self
                    .base
                    .as_deref()
                    .and_then(|b| url.strip_prefix(b))
                    .and_then(|r| r.strip_prefix('/'))
                    .filter(|r| !r.contains("://"))?;
                relative(rel)
            }
        };
        Some((typ.or_else(|| forced.map(str::to_owned)), id))
    }

    pub(super) fn reference(
        &mut self,
        rtype: ResourceType,
        l: &Leaf,
        t: &ReferenceTest,
    ) -> Vec<String> {
        let mut alts = Vec::new();
        let (forced, values) = match t {
            ReferenceTest::Identifier(ids) => {
                for ident in ids {
                    let mut s = format!(
                        "ident_bi = {}",
                        self.bind(self.blind(rtype, &l.param, "identifier", &ident.code))
                    );
                    if let Some(sys) = &ident.system {
                        s.push_str(&format!(" AND ident_system = {}", self.text(sys.as_str())));
                    }
                    alts.push(s);
                }
                return alts;
            }
            ReferenceTest::Refs { typ, values } => (typ.as_deref(), values),
        };
        for v in values {
            // An absolute URL matches as written; a relative one only local
            // references (url IS NULL), not the same type/id on another server.
            let Some((typ, id)) = self.local_reference(v, forced) else {
                if let RefValue::Absolute(url) = v {
                    alts.push(format!("url = {}", self.text(url.as_str())));
                }
                continue;
            };
            let mut s = format!("target_id = {} AND url IS NULL", self.text(id));
            if let Some(t) = typ {
                s.push_str(&format!(" AND target_type = {}", self.text(t)));
            }
            alts.push(s);
        }
        alts
    }
}
