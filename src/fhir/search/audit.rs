//! AuditEvent search over the projected columns of `audit_events` (see the
//! migration for why AuditEvents are projected rather than indexed), and over
//! its `terms` for the parameters without a column (`terms.rs`).

mod terms;

use super::criteria::{unescape, Leaf};
use super::sql::{like_escape, unsupported, Query};
use crate::audit::terms::TERM_PARAMS;
use crate::fhir::error::FhirError;

/// The AuditEvent search parameters evaluated (the CapabilityStatement lists
/// these): every R4 AuditEvent parameter (http://hl7.org/fhir/R4/auditevent.html#search)
/// and `_id`, `_lastUpdated` (search.html#all).
pub const AUDIT_PARAMS: [&str; 20] = [
    "_id",
    "_lastUpdated",
    "action",
    "address",
    "agent",
    "agent-name",
    "agent-role",
    "altid",
    "date",
    "entity",
    "entity-name",
    "entity-role",
    "entity-type",
    "outcome",
    "patient",
    "policy",
    "site",
    "source",
    "subtype",
    "type",
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
        if TERM_PARAMS.contains(&c.param.as_str()) {
            return self.audit_term_leaf(c);
        }
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
            // The server sets meta.lastUpdated to recorded (src/audit/event.rs),
            // and AuditEvents are never updated.
            ("date" | "_lastUpdated", None) => {
                for v in &values {
                    alts.push(self.instant_condition("r.recorded", &c.param, v)?);
                }
            }
            // Every AuditEvent has a lastUpdated (search.html#missing).
            ("_lastUpdated", Some("missing")) => {
                alts.push(match values.as_slice() {
                    [v] if v == "true" => "FALSE".to_owned(),
                    [v] if v == "false" => "TRUE".to_owned(),
                    _ => return Err(terms::missing_value(&c.param)),
                });
            }
            ("address", m @ (None | Some("exact" | "contains"))) => {
                for v in &values {
                    alts.push(match m {
                        Some("exact") => format!("r.address = {}", self.text(v.as_str())),
                        Some(_) => format!(
                            "lower(r.address) LIKE {}",
                            self.text(format!("%{}%", like_escape(&v.to_lowercase())))
                        ),
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
