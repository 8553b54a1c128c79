//! Criteria to SQL. Values only ever travel as bind parameters.

use chrono::{DateTime, Utc};
use diesel::pg::{Pg, PgConnection};
use diesel::query_builder::BoxedSqlQuery;
use diesel::sql_types::{BigInt, Bytea, Text, Timestamptz};
use diesel::{QueryableByName, RunQueryDsl};
use fhirgate_search::ParamType;
use fhirgate_validate::IssueCode;

use super::dates::{search_range, split_prefix};
use super::Criterion;
use crate::crypto::BlindIndexer;
use crate::fhir::error::FhirError;
use crate::model::{ResourceId, ResourceType};
use crate::store::index::phi::{column, fold, is_phi, prefix_digest, soundex, MAX_PREFIX};
use crate::tenant::TenantId;

pub(super) enum Bind {
    Text(String),
    Bytes(Vec<u8>),
    Time(DateTime<Utc>),
}

pub struct Query {
    from: &'static str,
    pub(super) where_sql: String,
    binds: Vec<Bind>,
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = Text)]
    id: String,
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

pub(super) fn unsupported(c: &Criterion, what: &str) -> FhirError {
    FhirError::invalid(
        IssueCode::NotSupported,
        None,
        format!(
            "search parameter {:?}: {what} is not supported yet",
            c.param
        ),
    )
}

pub(super) fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

impl Query {
    pub fn new(tenant: &TenantId, rtype: ResourceType) -> Self {
        // AuditEvents live in their own append-only table; their index rows are
        // keyed like every other resource's.
        let (from, where_sql) = if rtype == ResourceType::AuditEvent {
            (
                "audit_events r",
                "r.tenant_id = $1 AND $2::text = 'AuditEvent'",
            )
        } else {
            (
                "resources r",
                "r.tenant_id = $1 AND r.resource_type = $2 AND NOT r.deleted AND r.version_id > 0",
            )
        };
        Self {
            from,
            where_sql: where_sql.into(),
            binds: vec![
                Bind::Text(tenant.as_str().to_owned()),
                Bind::Text(rtype.as_str().to_owned()),
            ],
        }
    }

    /// A date search value (with its prefix) against a timestamptz column holding
    /// instants: the value's precision makes it a range (search.html#date).
    pub(super) fn instant_condition(
        &mut self,
        col: &str,
        c: &Criterion,
        value: &str,
    ) -> Result<String, FhirError> {
        let (prefix, date) = split_prefix(value);
        let (lo, hi) = search_range(c, date)?;
        let (l, h) = (self.bind(Bind::Time(lo)), self.bind(Bind::Time(hi)));
        Ok(match prefix {
            "eq" | "ap" => format!("{col} BETWEEN {l} AND {h}"),
            "ne" => format!("{col} NOT BETWEEN {l} AND {h}"),
            "gt" | "sa" => format!("{col} > {h}"),
            "lt" | "eb" => format!("{col} < {l}"),
            "ge" => format!("{col} >= {l}"),
            "le" => format!("{col} <= {h}"),
            _ => return Err(unsupported(c, "this prefix")),
        })
    }

    pub(super) fn bind(&mut self, b: Bind) -> String {
        self.binds.push(b);
        format!("${}", self.binds.len())
    }

    /// `r.id IN (SELECT resource_id FROM <table> WHERE <same tenant/type/param> AND (alt1 OR alt2 ..))`
    fn term(&mut self, table: &str, param: &str, alternatives: Vec<String>) {
        let p = self.bind(Bind::Text(param.to_owned()));
        self.where_sql.push_str(&format!(
            " AND r.id IN (SELECT resource_id FROM {table} WHERE tenant_id = $1 AND resource_type = $2 AND param = {p} AND (({})))",
            alternatives.join(") OR (")
        ));
    }

    pub fn add(
        &mut self,
        ix: &BlindIndexer,
        rtype: ResourceType,
        c: &Criterion,
    ) -> Result<(), FhirError> {
        if rtype == ResourceType::AuditEvent {
            return self.add_audit(c);
        }
        let phi = is_phi(rtype.as_str(), &c.param);
        let bi = |purpose: &str, v: &str| ix.index(&column(rtype.as_str(), &c.param, purpose), v).0;
        // _id and _lastUpdated are columns of the resources table (not indexed).
        if c.param == "_id" || c.param == "_lastUpdated" {
            let mut alts = Vec::new();
            for v in &c.values {
                alts.push(if c.param == "_id" {
                    format!("r.id = {}", self.bind(Bind::Text(v.clone())))
                } else {
                    self.instant_condition("r.last_updated", c, v)?
                });
            }
            self.where_sql
                .push_str(&format!(" AND (({}))", alts.join(") OR (")));
            return Ok(());
        }
        let mut alts = Vec::new();
        match (c.param_type, c.modifier.as_deref()) {
            (ParamType::Token, None) => {
                for v in &c.values {
                    let (system, code) = match v.split_once('|') {
                        Some((s, c)) => (Some(s), c),
                        None => (None, v.as_str()),
                    };
                    let mut parts = Vec::new();
                    match system {
                        Some("") => parts.push("system IS NULL".to_owned()),
                        Some(s) => {
                            parts.push(format!("system = {}", self.bind(Bind::Text(s.to_owned()))))
                        }
                        None => {}
                    }
                    if !code.is_empty() {
                        parts.push(if phi {
                            format!("code_bi = {}", self.bind(Bind::Bytes(bi("code", code))))
                        } else {
                            format!("code = {}", self.bind(Bind::Text(code.to_owned())))
                        });
                    }
                    if parts.is_empty() {
                        return Err(FhirError::invalid(
                            IssueCode::Invalid,
                            None,
                            format!("{}: empty token", c.param),
                        ));
                    }
                    alts.push(parts.join(" AND "));
                }
                self.term("idx_token", &c.param, alts);
            }
            (ParamType::String, None) if c.param == "phonetic" => {
                // Indexed by Soundex code per name word (store/index/rows.rs).
                for v in &c.values {
                    let code = soundex(v).ok_or_else(|| {
                        FhirError::invalid(
                            IssueCode::Value,
                            None,
                            "phonetic: the value has no letters",
                        )
                    })?;
                    alts.push(if phi {
                        format!("norm_bi = {}", self.bind(Bind::Bytes(bi("norm", &code))))
                    } else {
                        format!("value_norm = {}", self.bind(Bind::Text(code)))
                    });
                }
                self.term("idx_string", &c.param, alts);
            }
            (ParamType::String, m @ (None | Some("exact") | Some("contains"))) => {
                for v in &c.values {
                    let folded = fold(v);
                    alts.push(match (m, phi) {
                        (Some("exact"), true) => format!("exact_bi = {}", self.bind(Bind::Bytes(bi("exact", v)))),
                        (Some("exact"), false) => format!("value_exact = {}", self.bind(Bind::Text(v.clone()))),
                        (Some(_), true) => {
                            return Err(FhirError::invalid(
                                IssueCode::NotSupported,
                                None,
                                format!(
                                    "{}:contains cannot be evaluated on an encrypted (PHI) field; use the default starts-with match or :exact",
                                    c.param
                                ),
                            ))
                        }
                        (Some(_), false) => format!(
                            "value_norm LIKE {}",
                            self.bind(Bind::Text(format!("%{}%", like_escape(&folded))))
                        ),
                        // Prefixes are indexed up to MAX_PREFIX characters; a longer
                        // search string can only match a whole value of that text.
                        (None, true) if folded.chars().count() <= MAX_PREFIX => format!(
                            "prefix_bis @> ARRAY[{}]::bytea[]",
                            self.bind(Bind::Bytes(prefix_digest(ix, rtype.as_str(), &c.param, &folded)))
                        ),
                        (None, true) => format!("norm_bi = {}", self.bind(Bind::Bytes(bi("norm", &folded)))),
                        (None, false) => format!(
                            "value_norm LIKE {}",
                            self.bind(Bind::Text(format!("{}%", like_escape(&folded))))
                        ),
                    });
                }
                self.term("idx_string", &c.param, alts);
            }
            (ParamType::Reference, m) => {
                let forced_type = match m {
                    None => None,
                    Some(t) if ResourceType::parse(t).is_some() => Some(t.to_owned()),
                    Some(_) => return Err(unsupported(c, "this modifier")),
                };
                for v in &c.values {
                    let tail = v.rsplit('/').take(2).collect::<Vec<_>>();
                    let (typ, id) = match (tail.as_slice(), &forced_type) {
                        ([id], Some(t)) => (Some(t.clone()), (*id).to_owned()),
                        ([id], None) => (None, (*id).to_owned()),
                        ([id, t, ..], _) => (Some((*t).to_owned()), (*id).to_owned()),
                        _ => return Err(unsupported(c, "this reference form")),
                    };
                    let mut s = format!("target_id = {}", self.bind(Bind::Text(id)));
                    if let Some(t) = typ {
                        s.push_str(&format!(" AND target_type = {}", self.bind(Bind::Text(t))));
                    }
                    if v.contains("://") {
                        s = format!("({s}) OR url = {}", self.bind(Bind::Text(v.clone())));
                    }
                    alts.push(s);
                }
                self.term("idx_reference", &c.param, alts);
            }
            (ParamType::Date, None) => {
                for v in &c.values {
                    let (prefix, date) = split_prefix(v);
                    if phi {
                        if prefix != "eq" {
                            return Err(unsupported(c, "a comparison on an encrypted date (only equality at year, month or day precision)"));
                        }
                        alts.push(format!(
                            "value_bi = {}",
                            self.bind(Bind::Bytes(bi("date", date)))
                        ));
                        continue;
                    }
                    let (lo, hi) = search_range(c, date)?;
                    let (l, h) = (self.bind(Bind::Time(lo)), self.bind(Bind::Time(hi)));
                    alts.push(match prefix {
                        "eq" => format!("low >= {l} AND high <= {h}"),
                        "ne" => format!("NOT (low >= {l} AND high <= {h})"),
                        "gt" | "sa" => format!("high > {h}"),
                        "lt" | "eb" => format!("low < {l}"),
                        "ge" => format!("high >= {l}"),
                        "le" => format!("low <= {h}"),
                        _ => return Err(unsupported(c, "this prefix")),
                    });
                }
                self.term("idx_date", &c.param, alts);
            }
            (ParamType::Uri, None) => {
                for v in &c.values {
                    alts.push(format!("uri = {}", self.bind(Bind::Text(v.clone()))));
                }
                self.term("idx_uri", &c.param, alts);
            }
            _ => return Err(unsupported(c, "this parameter type or modifier")),
        }
        Ok(())
    }

    fn boxed<'a>(&'a self, sql: String) -> BoxedSqlQuery<'a, Pg, diesel::query_builder::SqlQuery> {
        let mut q = diesel::sql_query(sql).into_boxed();
        for b in &self.binds {
            q = match b {
                Bind::Text(s) => q.bind::<Text, _>(s.as_str()),
                Bind::Bytes(v) => q.bind::<Bytea, _>(v.as_slice()),
                Bind::Time(t) => q.bind::<Timestamptz, _>(*t),
            };
        }
        q
    }

    pub fn ids(
        &self,
        conn: &mut PgConnection,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<ResourceId>, FhirError> {
        let mut sql = format!("SELECT r.id FROM {} WHERE {}", self.from, self.where_sql);
        let after_pos = self.binds.len() + 1;
        if after.is_some() {
            sql.push_str(&format!(" AND r.id > ${after_pos}"));
        }
        sql.push_str(&format!(" ORDER BY r.id LIMIT {}", limit.clamp(0, 10_000)));
        let mut q = self.boxed(sql);
        if let Some(a) = after {
            q = q.bind::<Text, _>(a);
        }
        let rows: Vec<IdRow> = q.load(conn)?;
        Ok(rows
            .into_iter()
            .filter_map(|r| ResourceId::parse(&r.id))
            .collect())
    }

    pub fn count(&self, conn: &mut PgConnection) -> Result<i64, FhirError> {
        let sql = format!(
            "SELECT count(*) AS n FROM {} WHERE {}",
            self.from, self.where_sql
        );
        let row: CountRow = self.boxed(sql).get_result(conn)?;
        Ok(row.n)
    }
}
