//! AuditEvent search over the projected columns of `audit_events` (see the
//! migration for why AuditEvents are projected rather than indexed), and over
//! its `terms` for the parameters without a column (`terms.rs`).
//!
//! This is the one place search treats AuditEvents apart: criteria.rs,
//! sql.rs, page.rs and include.rs ask [`is_projected`] and call in here.

mod terms;

use self::terms::TermTest;
use super::criteria::{unescape, Criterion};
use super::dates::DateValue;
use super::leaf::{missing_flag, Spec, StringMatch, Test};
use super::modifier::Modifier;
use super::sql::{like_escape, unsupported, Query};
use crate::audit::terms::TERM_PARAMS;
use crate::fhir::error::FhirError;
use crate::model::ResourceType;

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

/// Whether `rtype` is searched over projected columns of its own table rather
/// than the index tables (`idx_*`, `idx_keys`): a type whose descriptor keeps
/// it in the audit log (only AuditEvents, in their own append-only table). Having no index rows, they are never
/// reached by a chain, `_has`, `_include` or `_revinclude`, and those do not
/// start from them either.
pub(super) fn is_projected(rtype: ResourceType) -> bool {
    rtype.descriptor().storage == crate::model::Storage::AuditLog
}

/// The parameters a projected type answers ([`AUDIT_PARAMS`]).
pub(super) fn searchable(code: &str) -> bool {
    AUDIT_PARAMS.contains(&code)
}

/// The FROM of a search over a projected type, and its tenant condition.
pub(super) const FROM: &str = "audit_events r";
pub(super) const TENANT_WHERE: &str = "r.tenant_id = $1";

/// The sort column of `param` (other than `_id`): an AuditEvent's
/// meta.lastUpdated is its recorded time (audit/event.rs); other parameters
/// do not sort.
pub(super) fn sort_column(param: &str) -> Result<&'static str, FhirError> {
    match param {
        "date" | "_lastUpdated" => Ok("r.recorded"),
        _ => Err(unsupported(param, "sorting AuditEvents on this parameter")),
    }
}

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

/// One AuditEvent criterion, parsed.
#[derive(Debug, Clone)]
pub enum AuditTest {
    /// `_id`.
    Id(Vec<String>),
    /// A code column (action, outcome, subtype, type).
    Code {
        column: &'static str,
        alts: Vec<CodeAlt>,
    },
    /// A column of references (entities, patients, agents).
    Refs {
        column: &'static str,
        alts: Vec<RefAlt>,
    },
    /// `date`, `_lastUpdated`: the recorded time.
    Recorded(Vec<DateValue>),
    /// `_lastUpdated:missing`: every AuditEvent has one (search.html#missing).
    LastUpdatedMissing(bool),
    /// `address`: starts-with (case-insensitive), `:exact`, `:contains`.
    Address {
        how: StringMatch,
        values: Vec<String>,
    },
    /// The parameters without a column (terms.rs).
    Terms(TermTest),
}

#[derive(Debug, Clone)]
pub enum CodeAlt {
    /// A system other than the column's own: nothing matches.
    Never,
    /// No code: everything matches.
    Always,
    Is(String),
}

#[derive(Debug, Clone)]
pub enum RefAlt {
    /// `Type/id`.
    Typed(String),
    /// An id of any type.
    AnyType(String),
}

/// Parses one AuditEvent parameter's modifier and values.
pub(super) fn parse(spec: &Spec<'_>, values: &[String]) -> Result<AuditTest, FhirError> {
    let p = spec.def.code.as_str();
    let m = spec.modifier;
    if TERM_PARAMS.contains(&p) {
        return terms::parse(p, spec.def.param_type, m, values).map(AuditTest::Terms);
    }
    let values: Vec<String> = values.iter().map(|v| unescape(v)).collect();
    if m.is_none() {
        if let Some((column, own_system)) = token_column(p) {
            let alts = values
                .iter()
                .map(|v| {
                    let (system, code) = match v.split_once('|') {
                        Some((s, code)) => (Some(s), code),
                        None => (None, v.as_str()),
                    };
                    // Every code in these columns comes from one known system.
                    if system.is_some_and(|s| s != own_system) {
                        CodeAlt::Never
                    } else if code.is_empty() {
                        CodeAlt::Always
                    } else {
                        CodeAlt::Is(code.to_owned())
                    }
                })
                .collect();
            return Ok(AuditTest::Code { column, alts });
        }
    }
    Ok(match (p, m) {
        ("_id", None) => AuditTest::Id(values),
        (p @ ("entity" | "patient" | "agent"), m) => {
            let column = match p {
                "entity" => "entities",
                "patient" => "patients",
                _ => "agents",
            };
            let alts = values
                .iter()
                .map(|v| {
                    let mut parts = v.rsplit('/');
                    let (id, typ) = (parts.next().unwrap_or(""), parts.next());
                    let typ = match (m, typ, p) {
                        (Some(t), _, _) => Some(t.as_str()),
                        (None, Some(t), _) => Some(t),
                        (None, None, "patient") => Some("Patient"),
                        _ => None,
                    };
                    match typ {
                        Some(t) => RefAlt::Typed(format!("{t}/{id}")),
                        None => RefAlt::AnyType(id.to_owned()),
                    }
                })
                .collect();
            AuditTest::Refs { column, alts }
        }
        // The server sets meta.lastUpdated to recorded (src/audit/event.rs),
        // and AuditEvents are never updated.
        ("date" | "_lastUpdated", None) => AuditTest::Recorded(
            values
                .iter()
                .map(|v| DateValue::parse(p, v))
                .collect::<Result<_, _>>()?,
        ),
        ("_lastUpdated", Some(Modifier::Missing)) => AuditTest::LastUpdatedMissing(
            missing_flag(&values).ok_or_else(|| terms::missing_value(p))?,
        ),
        ("address", None) => AuditTest::Address {
            how: StringMatch::StartsWith,
            values,
        },
        ("address", Some(Modifier::Exact)) => AuditTest::Address {
            how: StringMatch::Exact,
            values,
        },
        ("address", Some(Modifier::Contains)) => AuditTest::Address {
            how: StringMatch::Contains,
            values,
        },
        _ => return Err(unsupported(p, "this AuditEvent parameter or modifier")),
    })
}

impl Query<'_> {
    /// The condition of one criterion on a projected type: a parameter of
    /// its own (no chain or `_has` goes through it).
    pub(super) fn projected(&mut self, c: &Criterion) -> Result<String, FhirError> {
        let Criterion::Leaf(l) = c else {
            return Err(unsupported(self.rtype.as_str(), "chaining"));
        };
        match l.test.as_ref().map_err(FhirError::clone)? {
            Test::Audit(a) => Ok(self.audit_condition(&l.param, a)),
            // leaf::parse gives every criterion on a projected type an AuditTest.
            _ => Err(unsupported(
                &l.param,
                "this AuditEvent parameter or modifier",
            )),
        }
    }

    fn audit_condition(&mut self, param: &str, a: &AuditTest) -> String {
        let mut alts = Vec::new();
        match a {
            AuditTest::Terms(t) => return self.term_condition(param, t),
            AuditTest::Id(ids) => {
                for v in ids {
                    alts.push(format!("r.id = {}", self.text(v.as_str())));
                }
            }
            AuditTest::Code {
                column,
                alts: codes,
            } => {
                for c in codes {
                    alts.push(match c {
                        CodeAlt::Never => "FALSE".to_owned(),
                        CodeAlt::Always => "TRUE".to_owned(),
                        CodeAlt::Is(code) => format!("r.{column} = {}", self.text(code.as_str())),
                    });
                }
            }
            AuditTest::Refs { column, alts: refs } => {
                for r in refs {
                    alts.push(match r {
                        RefAlt::Typed(t) => format!(
                            "r.{column} @> ARRAY[{}]::text[]",
                            self.text(t.as_str())
                        ),
                        RefAlt::AnyType(id) => format!(
                            "EXISTS (SELECT 1 FROM unnest(r.{column}) e WHERE split_part(e, '/', 2) = {})",
                            self.text(id.as_str())
                        ),
                    });
                }
            }
            AuditTest::Recorded(dates) => {
                for d in dates {
                    alts.push(self.instant_condition("r.recorded", d));
                }
            }
            AuditTest::LastUpdatedMissing(missing) => {
                alts.push(if *missing { "FALSE" } else { "TRUE" }.to_owned());
            }
            AuditTest::Address { how, values } => {
                for v in values {
                    alts.push(match how {
                        StringMatch::Exact => format!("r.address = {}", self.text(v.as_str())),
                        StringMatch::Contains => format!(
                            "lower(r.address) LIKE {}",
                            self.text(format!("%{}%", like_escape(&v.to_lowercase())))
                        ),
                        StringMatch::StartsWith => format!(
                            "lower(r.address) LIKE {}",
                            self.text(format!("{}%", like_escape(&v.to_lowercase())))
                        ),
                    });
                }
            }
        }
        format!("(({}))", alts.join(") OR ("))
    }
}
