//! One statement for many rows of many tables: each table's rows arrive as
//! column vectors bound as arrays and unnested, each table's INSERT a
//! data-modifying CTE of a single statement
//! (https://www.postgresql.org/docs/15/queries-with.html#QUERIES-WITH-MODIFYING).
//! The text depends only on which tables have rows, never on how many rows, so
//! it stays a prepared statement ([`Stmt`]); one round trip carries it all.
//!
//! The sub-statements run against one snapshot and in no defined order, so a
//! statement built here must never touch the same row twice (an index DELETE
//! and the INSERT replacing its rows go in separate statements).

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::sql_types::{Array, Bool, Bytea, Integer, Nullable, Text, Timestamptz};
use diesel::RunQueryDsl;

use super::stmt::Stmt;
use super::StoreError;
use crate::tenant::TenantId;

/// One bound value: a column vector (an array), or a single text.
pub(crate) enum Col {
    One(String),
    Text(Vec<String>),
    NText(Vec<Option<String>>),
    NBytes(Vec<Option<Vec<u8>>>),
    Time(Vec<DateTime<Utc>>),
    NTime(Vec<Option<DateTime<Utc>>>),
    Int(Vec<i32>),
    NInt(Vec<Option<i32>>),
    Bool(Vec<bool>),
}

impl Col {
    fn cast(&self) -> &'static str {
        match self {
            Col::One(_) => "text",
            Col::Text(_) | Col::NText(_) => "text[]",
            Col::NBytes(_) => "bytea[]",
            Col::Time(_) | Col::NTime(_) => "timestamptz[]",
            Col::Int(_) | Col::NInt(_) => "int4[]",
            Col::Bool(_) => "bool[]",
        }
    }
}

/// Sub-statements of one statement; `$1` is the tenant unless [`Builder::unbound`].
pub(crate) struct Builder {
    stmts: Vec<String>,
    binds: Vec<Col>,
}

impl Builder {
    pub(crate) fn new(tenant: &TenantId) -> Self {
        Builder {
            stmts: Vec::new(),
            binds: vec![Col::One(tenant.as_str().to_owned())],
        }
    }

    /// A statement with no tenant parameter: its `$1` is the first [`Builder::param`].
    pub(crate) fn unbound() -> Self {
        Builder {
            stmts: Vec::new(),
            binds: Vec::new(),
        }
    }

    /// Binds `col` and returns its placeholder, cast (`$n::text[]`).
    pub(crate) fn param(&mut self, col: Col) -> String {
        let p = format!("${}::{}", self.binds.len() + 1, col.cast());
        self.binds.push(col);
        p
    }

    /// Adds one data-modifying sub-statement.
    pub(crate) fn push(&mut self, sql: String) {
        self.stmts.push(sql);
    }

    /// `INSERT INTO table (tenant_id, resource_type, resource_id, cols) SELECT
    /// $1, rtype, select FROM unnest(ids, columns..) AS alias`: the rows of one
    /// index table for resources of the type bound at `rtype`; nothing if `ids` is empty.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn table(
        &mut self,
        table: &str,
        cols: &str,
        select: &str,
        alias: &str,
        rtype: &str,
        ids: Vec<String>,
        columns: Vec<Col>,
    ) {
        if ids.is_empty() {
            return;
        }
        let mut args = vec![self.param(Col::Text(ids))];
        for c in columns {
            args.push(self.param(c));
        }
        self.push(format!(
            "INSERT INTO {table} (tenant_id, resource_type, resource_id, {cols}) SELECT $1, {rtype}, {select} FROM unnest({}) AS {alias}",
            args.join(", ")
        ));
    }

    /// Runs every sub-statement as one statement (nothing if there is none).
    pub(crate) fn execute(self, conn: &mut PgConnection) -> Result<(), StoreError> {
        let Some((last, first)) = self.stmts.split_last() else {
            return Ok(());
        };
        let sql = if first.is_empty() {
            last.clone()
        } else {
            let ctes: Vec<String> = first
                .iter()
                .enumerate()
                .map(|(n, s)| format!("w{n} AS ({s})"))
                .collect();
            format!("WITH {} {last}", ctes.join(", "))
        };
        let mut q = Stmt::new(sql);
        for col in self.binds {
            q = match col {
                Col::One(v) => q.bind::<Text, _>(v),
                Col::Text(v) => q.bind::<Array<Text>, _>(v),
                Col::NText(v) => q.bind::<Array<Nullable<Text>>, _>(v),
                Col::NBytes(v) => q.bind::<Array<Nullable<Bytea>>, _>(v),
                Col::Time(v) => q.bind::<Array<Timestamptz>, _>(v),
                Col::NTime(v) => q.bind::<Array<Nullable<Timestamptz>>, _>(v),
                Col::Int(v) => q.bind::<Array<Integer>, _>(v),
                Col::NInt(v) => q.bind::<Array<Nullable<Integer>>, _>(v),
                Col::Bool(v) => q.bind::<Array<Bool>, _>(v),
            };
        }
        q.execute(conn)?;
        Ok(())
    }
}
