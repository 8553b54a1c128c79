//! Uri parameters (http://hl7.org/fhir/R4/search.html#uri) against `idx_uri`:
//! the whole URI; `:below` matches the value and every uri under it,
//! `:above` every uri the value is under.

use super::Spec;
use crate::fhir::error::FhirError;
use crate::fhir::search::criteria::unescape;
use crate::fhir::search::modifier::Modifier;
use crate::fhir::search::sql::{like_escape, unsupported, Query};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UriMatch {
    Equals,
    Below,
    Above,
}

#[derive(Debug, Clone)]
pub struct UriTest {
    pub how: UriMatch,
    /// Unescaped.
    pub values: Vec<String>,
}

pub(super) fn parse(spec: &Spec<'_>, values: &[String]) -> Result<UriTest, FhirError> {
    let how = match spec.modifier {
        None => UriMatch::Equals,
        Some(Modifier::Below) => UriMatch::Below,
        Some(Modifier::Above) => UriMatch::Above,
        Some(_) => return Err(unsupported(spec.param(), "this modifier")),
    };
    Ok(UriTest {
        how,
        values: values.iter().map(|v| unescape(v)).collect(),
    })
}

impl Query<'_> {
    pub(super) fn uri(&mut self, t: &UriTest) -> Vec<String> {
        let mut alts = Vec::new();
        for v in &t.values {
            alts.push(match t.how {
                UriMatch::Equals => format!("uri = {}", self.text(v.as_str())),
                UriMatch::Below => {
                    format!("uri LIKE {}", self.text(format!("{}%", like_escape(v))))
                }
                UriMatch::Above => {
                    let b = self.text(v.as_str());
                    format!("left({b}, length(uri)) = uri")
                }
            });
        }
        alts
    }
}
