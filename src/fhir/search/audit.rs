//! AuditEvent search over the projected columns of `audit_events` (see the
//! migration for why AuditEvents are projected rather than indexed).

use super::criteria::{unescape, Leaf};
use super::sql::{like_escape, unsupported, Query};
use crate::fhir::error::FhirError;

/// The AuditEvent search parameters evaluated (the CapabilityStatement lists these).
pub const AUDIT_PARAMS: [&str; 10] = [
    "_id", "action", "address", "agent", "date", "entity", "outcome", "patient", "subtype", "type",
];

/// (column, the code system its codes come from).
fn token_column(param: &str) -> Option<(&'static str, &'static str)> {
    Some(match param {
        "action" => ("action", "http://hl7.org/fhir/audit-event-action"),
        "outcome" => ("outcome", "http://hl7.org/fhir/audit-event-outcome"),
        "subtype" => ("subtype", "http://hl7.org/fhir/restful-interaction"),
        "type" => (
            "type_code",
            "http://terminology.hl7.org/CodeSystem/audit-event-type",
        ),
        _ => return None,
    })
}

impl Query<'_> {
    pub(super) fn audit_leaf(&mut self, c: &Leaf) -> Result<String, FhirError> {
        let mut alts = Vec::new();
        let values: Vec<String> = c.values.iter().map(|v| unescape(v)).collect();
        match (c.param.as_str(), c.modifier.as_deref()) {
            ("_id", None) => {
                for v in &values {
                    alts.push(format!("r.id = {}", self.text(v.as_str())));
                }
            }
            (p, None) if token_column(p).is_some() => {
                let (column, own_system) =
                    token_column(p).ok_or_else(|| unsupported(&c.param, "this parameter"))?;
                for v in &values {
                    let (system, code) = match v.split_once('|') {
                        Some((s, code)) => (Some(s), code),
                        None => (None, v.as_str()),
                    };
                    // Every code in these columns comes from one known system.
                    if system.is_some_and(|s| s != own_system) {
                        alts.push("FALSE".to_owned());
                    } else if code.is_empty() {
                        alts.push("TRUE".to_owned());
                    } else {
                        alts.push(format!("r.{column} = {}", self.text(code)));
                    }
                }
            }
            (p @ ("entity" | "patient" | "agent"), m) => {
                let column = match p {
                    "entity" => "entities",
                    "patient" => "patients",
                    _ => "agents",
                };
                for v in &values {
                    let mut parts = v.rsplit('/');
                    let (id, typ) = (parts.next().unwrap_or(""), parts.next());
                    let typ = match (m, typ, p) {
                        (Some(t), _, _) => Some(t.to_owned()),
                        (None, Some(t), _) => Some(t.to_owned()),
                        (None, None, "patient") => Some("Patient".to_owned()),
                        _ => None,
                    };
                    match typ {
                        Some(t) => alts.push(format!("r.{column} @> ARRAY[{}]::text[]", self.text(format!("{t}/{id}")))),
                        None => alts.push(format!(
                            "EXISTS (SELECT 1 FROM unnest(r.{column}) e WHERE split_part(e, '/', 2) = {})",
                            self.text(id)
                        )),
                    }
                }
            }
            ("date", None) => {
                for v in &values {
                    alts.push(self.instant_condition("r.recorded", &c.param, v)?);
                }
            }
            ("address", m @ (None | Some("exact"))) => {
                for v in &values {
                    alts.push(match m {
                        Some(_) => format!("r.address = {}", self.text(v.as_str())),
                        None => format!(
                            "lower(r.address) LIKE {}",
                            self.text(format!("{}%", like_escape(&v.to_lowercase())))
                        ),
                    });
                }
            }
            _ => {
                return Err(unsupported(
                    &c.param,
                    "this AuditEvent parameter or modifier",
                ))
            }
        }
        Ok(format!("(({}))", alts.join(") OR (")))
    }
}
