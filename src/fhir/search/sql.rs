//! Criteria to SQL. Values only ever travel as bind parameters; table, column
//! and resource-type names come from this module or the `ResourceType` enum,
//! never from the request.
//!
//! Each criterion is a condition on an id column: `r.id` for the resources being
//! searched, `target_id` inside a chain, `resource_id` inside `_has`. So chains
//! and reverse chains nest as sub-selects over the reference index.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, Bytea, Text, Timestamptz};
use fhirgate_validate::IssueCode;

use super::audit;
use super::criteria::Criterion;
use crate::crypto::BlindIndexer;
use crate::fhir::error::FhirError;
use crate::model::ResourceType;
use crate::store::stmt::Stmt;
use crate::tenant::TenantId;

#[derive(Clone)]
pub(super) enum Bind {
    Text(String),
    Bytes(Vec<u8>),
    Time(DateTime<Utc>),
    Texts(Vec<String>),
}

/// The WHERE clause of one search (over `from`, aliased `r`) and its binds.
#[derive(Clone)]
pub struct Query<'a> {
    pub(super) ix: &'a BlindIndexer,
    pub(super) rtype: ResourceType,
    pub(super) from: &'static str,
    /// The tenant (and type) filter of `from`, needed only when the search starts
    /// from `from` itself.
    base_where: String,
    /// The criteria's conditions, each starting with " AND ".
    conds: String,
    /// The first positive index condition's sub-select of ids, when there is one:
    /// the search then starts from it instead of the `resources` table. Index rows
    /// exist only for current, non-deleted resources (they are replaced with each
    /// version and removed on delete, in the same transaction), so the join to
    /// `resources` would only repeat what the index already says; skipping it cut
    /// the Observation benchmark query's database time by about a quarter
    /// (docs/performance.md).
    driver: Option<String>,
    /// Conditions on `idx_keys.keys` (equality on tokens and local references):
    /// when there are any, the search starts from one GIN scan of `idx_keys`.
    key_conds: Vec<String>,
    /// Whether the `idx_keys` scan must go through its GIN index (see [`Query::by_keys_only`]).
    keys_only: bool,
    binds: Vec<Bind>,
    /// This server's FHIR base: an absolute reference under it is a local one.
    pub(super) base: Option<String>,
    /// What the principal may see of each type (confine.rs).
    pub(super) confinement: super::confine::Confinement,
}

pub(super) fn unsupported(param: &str, what: &str) -> FhirError {
    FhirError::invalid(
        IssueCode::NotSupported,
        None,
        format!("search parameter {param:?}: {what} is not supported"),
    )
}

pub(super) fn invalid_value(param: &str, what: &str) -> FhirError {
    FhirError::invalid(
        IssueCode::Value,
        None,
        format!("search parameter {param:?}: {what}"),
    )
}

pub(super) fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

impl<'a> Query<'a> {
    pub fn new(ix: &'a BlindIndexer, tenant: &TenantId, rtype: ResourceType) -> Self {
        // Placeholder rows (version 0, taken to serialise conditional creates)
        // are not resources yet.
        let (from, where_sql) = if audit::is_projected(rtype) {
            (audit::FROM, audit::TENANT_WHERE.to_owned())
        } else {
            (
                "resources r",
                format!(
                    "r.tenant_id = $1 AND r.resource_type = '{}' AND NOT r.deleted AND r.version_id > 0",
                    rtype.as_str()
                ),
            )
        };
        Self {
            ix,
            rtype,
            from,
            base_where: where_sql,
            conds: String::new(),
            driver: None,
            key_conds: Vec::new(),
            keys_only: false,
            binds: vec![Bind::Text(tenant.as_str().to_owned())],
            base: None,
            confinement: Default::default(),
        }
    }

    pub fn with_base(mut self, base: String) -> Self {
        self.base = Some(base);
        self
    }

    pub(super) fn bind(&mut self, b: Bind) -> String {
        self.binds.push(b);
        format!("${}", self.binds.len())
    }

    pub(super) fn text(&mut self, s: impl Into<String>) -> String {
        self.bind(Bind::Text(s.into()))
    }

    /// ANDs one criterion into the search.
    pub fn add(&mut self, c: &Criterion) -> Result<(), FhirError> {
        let cond = if audit::is_projected(self.rtype) {
            self.projected(c)?
        } else {
            if let Criterion::Leaf(l) = c {
                if let Some(keys) = self.equality_keys(l) {
                    let any = keys.len() > 1;
                    let b = self.bind(Bind::Texts(keys));
                    let op = if any { "&&" } else { "@>" };
                    self.key_conds.push(format!("keys {op} {b}::text[]"));
                    return Ok(());
                }
            }
            let cond = self.matches("r.id", None, self.rtype, c)?;
            // `_has` selects reference targets, which need not exist: never a driver.
            if self.driver.is_none() && !matches!(c, Criterion::Has { .. }) {
                if let Some(ids) = cond.strip_prefix("r.id IN ") {
                    self.driver = Some(ids.to_owned());
                    return Ok(());
                }
            }
            cond
        };
        self.push_cond(&cond);
        Ok(())
    }

    pub(super) fn push_cond(&mut self, cond: &str) {
        self.conds.push_str(" AND ");
        self.conds.push_str(cond);
    }

    /// A condition: `col` is the id of a current `rtype` resource matching `c`.
    /// `row` is the alias of the `resources` row `col` belongs to, when there is one.
    pub(super) fn matches(
        &mut self,
        col: &str,
        row: Option<&str>,
        rtype: ResourceType,
        c: &Criterion,
    ) -> Result<String, FhirError> {
        match c {
            Criterion::Leaf(l) => self.leaf(col, row, rtype, l),
            Criterion::Chain { param, branches } => {
                let p = self.text(param.as_str());
                let mut alts = Vec::new();
                for (target, inner) in branches {
                    let mut cond = self.matches("target_id", None, *target, inner)?;
                    if let Some(c) = self.confined_at("target_id", *target)? {
                        cond = format!("{cond} AND {c}");
                    }
                    alts.push(format!("(target_type = '{}' AND {cond})", target.as_str()));
                }
                Ok(format!(
                    "{col} IN (SELECT resource_id FROM idx_reference WHERE tenant_id = $1 AND resource_type = '{}' AND param = {p} AND url IS NULL AND ({}))",
                    rtype.as_str(),
                    alts.join(" OR ")
                ))
            }
            Criterion::Has {
                source,
                param,
                inner,
            } => {
                let p = self.text(param.as_str());
                let mut cond = self.matches("resource_id", None, *source, inner)?;
                if let Some(c) = self.confined_at("resource_id", *source)? {
                    cond = format!("{cond} AND {c}");
                }
                Ok(format!(
                    "{col} IN (SELECT target_id FROM idx_reference WHERE tenant_id = $1 AND resource_type = '{}' AND param = {p} AND target_type = '{}' AND url IS NULL AND {cond})",
                    source.as_str(),
                    rtype.as_str()
                ))
            }
        }
    }

    /// `col [NOT] IN (SELECT resource_id FROM table WHERE <same tenant, type, param> [AND (alt1 OR ..)])`.
    pub(super) fn in_index(
        &mut self,
        col: &str,
        negate: bool,
        table: &str,
        rtype: ResourceType,
        params: &[String],
        alternatives: Option<Vec<String>>,
    ) -> String {
        let p = self.param_condition("param", params);
        let alts = match alternatives {
            Some(a) if !a.is_empty() => format!(" AND (({}))", a.join(") OR (")),
            _ => String::new(),
        };
        format!(
            "{col} {}IN (SELECT resource_id FROM {table} WHERE tenant_id = $1 AND resource_type = '{}' AND {p}{alts})",
            if negate { "NOT " } else { "" },
            rtype.as_str()
        )
    }

    /// `column` names one of `params` (a criterion's [`Leaf::rows_of`]): an
    /// equality for one, as before there were union parameters, so that the
    /// index conditions and plans of every other parameter stay as they were.
    pub(super) fn param_condition(&mut self, column: &str, params: &[String]) -> String {
        match params {
            [one] => format!("{column} = {}", self.text(one.as_str())),
            many => {
                let binds: Vec<String> = many.iter().map(|p| self.text(p.as_str())).collect();
                format!("{column} IN ({})", binds.join(", "))
            }
        }
    }

    /// The FROM and WHERE of the search; the row alias is `r`, with an `id` column.
    pub(super) fn sql_parts(&self) -> (String, String) {
        if !self.key_conds.is_empty() {
            let driver = match &self.driver {
                Some(ids) => format!(" AND r.id IN {ids}"),
                None => String::new(),
            };
            // `|| ''` makes the tenant and type conditions unusable by the
            // primary key, leaving the GIN index on `keys` as the only way in.
            let (tenant, rtype) = if self.keys_only {
                ("(tenant_id || '')", "(resource_type || '')")
            } else {
                ("tenant_id", "resource_type")
            };
            return (
                format!(
                    "(SELECT resource_id AS id FROM idx_keys WHERE {tenant} = $1 AND {rtype} = '{}' AND {}) r",
                    self.rtype.as_str(),
                    self.key_conds.join(" AND ")
                ),
                format!("TRUE{driver}{}", self.conds),
            );
        }
        match &self.driver {
            Some(ids) => (
                format!("(SELECT DISTINCT s.x AS id FROM {ids} AS s(x)) r"),
                format!("TRUE{}", self.conds),
            ),
            None => (
                self.from.to_owned(),
                format!("{}{}", self.base_where, self.conds),
            ),
        }
    }

    /// A column of the `resources` row of `r` (`last_updated`), whichever FROM is used.
    pub(super) fn resource_column_of_r(&self, column: &str) -> String {
        match (&self.driver, self.key_conds.is_empty()) {
            (Some(_), _) | (None, false) => format!(
                "(SELECT x.{column} FROM resources x WHERE x.tenant_id = $1 AND x.resource_type = '{}' AND x.id = r.id)",
                self.rtype.as_str()
            ),
            (None, true) => format!("r.{column}"),
        }
    }

    /// `sql` with this query's binds, kept as a prepared statement when
    /// `cache` (see store/stmt.rs for when that is wise: here only for
    /// conditional lookups, whose text repeats).
    pub(super) fn statement(&self, sql: String, cache: bool) -> Stmt<'_> {
        statement_of(&self.binds, sql, cache)
    }

    /// A search whose placeholders continue after `binds` (the binds of the
    /// searches before it in the same statement, the tenant first at `$1`).
    pub(super) fn continuing(
        ix: &'a BlindIndexer,
        tenant: &TenantId,
        rtype: ResourceType,
        binds: Vec<Bind>,
    ) -> Self {
        let mut q = Self::new(ix, tenant, rtype);
        if !binds.is_empty() {
            q.binds = binds;
        }
        q
    }

    /// For conditional lookups (identifiers): the `idx_keys` scan is made by
    /// the GIN index whatever the statistics say. On a table that grew after
    /// its last ANALYZE, the planner took the primary key's (tenant, type)
    /// prefix for one row and scanned every resource of the type instead:
    /// HL7 v2 ingest on a fresh database slowed from 18 to 95 ms a message over
    /// its first 5 s, until the statistics task caught up (docs/performance.md).
    pub(super) fn by_keys_only(&mut self) {
        self.keys_only = true;
    }

    pub(super) fn into_binds(self) -> Vec<Bind> {
        self.binds
    }
}

/// `sql` with `binds` as its `$1`, `$2`, ...
pub(super) fn statement_of(binds: &[Bind], sql: String, cache: bool) -> Stmt<'_> {
    let mut q = if cache {
        Stmt::new(sql)
    } else {
        Stmt::uncached(sql)
    };
    for b in binds {
        q = match b {
            Bind::Text(s) => q.bind::<Text, _>(s.as_str()),
            Bind::Bytes(v) => q.bind::<Bytea, _>(v.as_slice()),
            Bind::Time(t) => q.bind::<Timestamptz, _>(*t),
            Bind::Texts(v) => q.bind::<Array<Text>, _>(v.as_slice()),
        };
    }
    q
}
