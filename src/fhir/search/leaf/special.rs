//! `_id` and `_lastUpdated` (http://hl7.org/fhir/R4/search.html#all): columns of
//! the resources table, not index rows. Every resource has both, so
//! `:missing` is a constant (search.html#missing).

use super::Spec;
use crate::fhir::error::FhirError;
use crate::fhir::search::criteria::unescape;
use crate::fhir::search::dates::{approximately, DateValue, Prefix};
use crate::fhir::search::modifier::Modifier;
use crate::fhir::search::sql::{unsupported, Bind, Query};
use crate::model::ResourceType;

#[derive(Debug, Clone)]
pub enum Special {
    /// `_id`: any of these ids (unescaped).
    Id(Vec<String>),
    /// `_lastUpdated`: any of these dates.
    LastUpdated(Vec<DateValue>),
    /// `:missing=true` matches nothing, `:missing=false` everything.
    Missing(bool),
}

pub(super) fn parse(spec: &Spec<'_>, values: &[String]) -> Result<Special, FhirError> {
    let param = spec.param();
    if let Some(m) = spec.modifier {
        return match (m, super::missing_flag(values)) {
            (Modifier::Missing, Some(missing)) => Ok(Special::Missing(missing)),
            _ => Err(unsupported(param, "this modifier")),
        };
    }
    let values = values.iter().map(|v| unescape(v));
    if param == "_id" {
        return Ok(Special::Id(values.collect()));
    }
    values
        .map(|v| DateValue::parse(param, &v))
        .collect::<Result<_, _>>()
        .map(Special::LastUpdated)
}

impl Query<'_> {
    /// A date search value against a timestamptz column holding instants:
    /// the value's precision makes it a range (search.html#date).
    pub(in crate::fhir::search) fn instant_condition(
        &mut self,
        col: &str,
        d: &DateValue,
    ) -> String {
        let (lo, hi) = match d.prefix {
            Prefix::Ap => approximately(d.lo, d.hi, chrono::Utc::now()),
            _ => (d.lo, d.hi),
        };
        let (l, h) = (self.bind(Bind::Time(lo)), self.bind(Bind::Time(hi)));
        match d.prefix {
            Prefix::Eq | Prefix::Ap => format!("{col} BETWEEN {l} AND {h}"),
            Prefix::Ne => format!("{col} NOT BETWEEN {l} AND {h}"),
            Prefix::Gt | Prefix::Sa => format!("{col} > {h}"),
            Prefix::Lt | Prefix::Eb => format!("{col} < {l}"),
            Prefix::Ge => format!("{col} >= {l}"),
            Prefix::Le => format!("{col} <= {h}"),
        }
    }

    /// `row` is the alias of the `resources` row `col` belongs to, when there is one.
    pub(super) fn special(
        &mut self,
        col: &str,
        row: Option<&str>,
        rtype: ResourceType,
        param: &str,
        s: &Special,
    ) -> String {
        let alts: Vec<String> = match s {
            Special::Missing(true) => return "FALSE".into(),
            Special::Missing(false) => return "TRUE".into(),
            Special::Id(ids) => ids
                .iter()
                .map(|v| format!("{col} = {}", self.text(v.as_str())))
                .collect(),
            Special::LastUpdated(dates) => {
                let column = match row {
                    Some(r) => format!("{r}.last_updated"),
                    None => "x.last_updated".to_owned(),
                };
                dates
                    .iter()
                    .map(|d| self.instant_condition(&column, d))
                    .collect()
            }
        };
        let any = format!("(({}))", alts.join(") OR ("));
        match (param, row) {
            ("_lastUpdated", None) => format!(
                "{col} IN (SELECT x.id FROM resources x WHERE x.tenant_id = $1 AND x.resource_type = '{}' AND NOT x.deleted AND x.version_id > 0 AND {any})",
                rtype.as_str()
            ),
            _ => any,
        }
    }
}
