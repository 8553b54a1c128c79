//! Date parameters (http://hl7.org/fhir/R4/search.html#date) against
//! `idx_date`: a search value denotes a range at its precision, compared to
//! the stored range by its prefix (search.html#prefix). A PHI date is kept
//! only as a blind index of its day, month or year, so it matches by
//! equality at that precision alone.

use super::Spec;
use crate::fhir::error::FhirError;
use crate::fhir::search::criteria::Leaf;
use crate::fhir::search::dates::{approximately, split_prefix, DateValue, Prefix};
use crate::fhir::search::sql::{unsupported, Bind, Query};
use crate::model::ResourceType;

pub(super) fn parse(spec: &Spec<'_>, values: &[String]) -> Result<Vec<DateValue>, FhirError> {
    spec.no_modifier()?;
    let param = spec.param();
    values
        .iter()
        .map(|v| {
            let (prefix, date) = split_prefix(v);
            if spec.phi && prefix != Prefix::Eq {
                return Err(unsupported(param, "a comparison on an encrypted date (only equality at year, month or day precision)"));
            }
            DateValue::of(param, prefix, date)
        })
        .collect()
}

impl Query<'_> {
    pub(super) fn date(
        &mut self,
        rtype: ResourceType,
        l: &Leaf,
        values: &[DateValue],
    ) -> Vec<String> {
        let mut alts = Vec::new();
        for d in values {
            alts.push(if l.phi {
                format!(
                    "value_bi = {}",
                    self.bind(self.blind(rtype, &l.param, "date", &d.text))
                )
            } else {
                self.range_condition("low", "high", d)
            });
        }
        alts
    }

    /// A date search range against a stored range (search.html#prefix, the
    /// "range" reading of each prefix).
    pub(super) fn range_condition(&mut self, low: &str, high: &str, d: &DateValue) -> String {
        if d.prefix == Prefix::Ap {
            let (lo, hi) = approximately(d.lo, d.hi, chrono::Utc::now());
            let (l, h) = (self.bind(Bind::Time(lo)), self.bind(Bind::Time(hi)));
            // The stored range overlaps the widened one (search.html#prefix).
            return format!("({low} <= {h} AND {high} >= {l})");
        }
        let (l, h) = (self.bind(Bind::Time(d.lo)), self.bind(Bind::Time(d.hi)));
        let within = format!("({low} >= {l} AND {high} <= {h})");
        match d.prefix {
            Prefix::Eq | Prefix::Ap => within,
            Prefix::Ne => format!("NOT {within}"),
            Prefix::Gt => format!("{high} > {h}"),
            Prefix::Lt => format!("{low} < {l}"),
            Prefix::Ge => format!("({high} > {h} OR {within})"),
            Prefix::Le => format!("({low} < {l} OR {within})"),
            Prefix::Sa => format!("{low} > {h}"),
            Prefix::Eb => format!("{high} < {l}"),
        }
    }
}
