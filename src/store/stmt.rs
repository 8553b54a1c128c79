//! Raw SQL that diesel keeps as a prepared statement.
//!
//! `diesel::sql_query` marks every query unsafe to cache, so each execution is
//! parsed and planned again by Postgres: measured on the write path, parse and
//! plan were about half of the server's CPU per stored resource
//! (docs/performance.md). [`Stmt`] is the same raw SQL with positional binds,
//! but it leaves diesel's statement cache on, so a connection prepares each
//! distinct text once (keyed by the text and the bind types) and executes it
//! from then on (https://www.postgresql.org/docs/15/sql-prepare.html).
//!
//! Use it only where the text comes from a small fixed set (inserts, deletes,
//! locks, the fixed-shape conditional lookups); every distinct text stays
//! prepared for the life of the connection. Search SQL is sent
//! [`Stmt::uncached`]: its text varies with the query, and a generic plan
//! chosen after five executions could suit one parameter value and not the next.
//!
//! Placeholders are written `$1`, `$2`, ... as in plain SQL and may repeat;
//! each occurrence is sent as its own bind, renumbered in order of appearance.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{HasSqlType, Untyped};
use diesel::{QueryResult, RunQueryDsl};
use std::marker::PhantomData;

type Bind<'a> = Box<dyn QueryFragment<Pg> + Send + 'a>;

/// A raw SQL statement with positional binds, cached as a prepared statement.
#[must_use = "a statement does nothing until it is executed"]
pub struct Stmt<'a> {
    sql: std::borrow::Cow<'a, str>,
    binds: Vec<Bind<'a>>,
    cache: bool,
}

struct Value<ST, U> {
    value: U,
    sql_type: PhantomData<ST>,
}

impl<ST, U> QueryFragment<Pg> for Value<ST, U>
where
    Pg: HasSqlType<ST>,
    U: ToSql<ST, Pg>,
{
    fn walk_ast<'b>(&'b self, mut pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        pass.push_bind_param::<ST, U>(&self.value)
    }
}

impl<'a> Stmt<'a> {
    pub fn new(sql: impl Into<std::borrow::Cow<'a, str>>) -> Self {
        Stmt {
            sql: sql.into(),
            binds: Vec::new(),
            cache: true,
        }
    }

    /// The same, parsed and planned at every execution, as `sql_query` does:
    /// for text that varies with its input (searches).
    pub fn uncached(sql: impl Into<std::borrow::Cow<'a, str>>) -> Self {
        Stmt {
            cache: false,
            ..Stmt::new(sql)
        }
    }

    /// The value of the next placeholder (`$1` first).
    pub fn bind<ST, U>(mut self, value: U) -> Self
    where
        Pg: HasSqlType<ST>,
        U: ToSql<ST, Pg> + Send + 'a,
        ST: Send + 'a,
    {
        self.binds.push(Box::new(Value {
            value,
            sql_type: PhantomData,
        }));
        self
    }
}

/// Splits `sql` at its `$n` placeholders: the text before each and its number.
fn placeholders(sql: &str) -> impl Iterator<Item = (&str, Option<usize>)> {
    let mut rest = sql;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut from = 0;
        while let Some(pos) = rest.get(from..).and_then(|r| r.find('$')) {
            let at = from + pos;
            let digits = rest
                .get(at + 1..)
                .map(|r| r.bytes().take_while(u8::is_ascii_digit).count())
                .unwrap_or(0);
            if let Some(n) = rest
                .get(at + 1..at + 1 + digits)
                .filter(|d| !d.is_empty())
                .and_then(|d| d.parse::<usize>().ok())
            {
                let before = rest.get(..at).unwrap_or("");
                rest = rest.get(at + 1 + digits..).unwrap_or("");
                return Some((before, Some(n)));
            }
            from = at + 1;
        }
        let all = rest;
        rest = "";
        Some((all, None))
    })
}

impl QueryFragment<Pg> for Stmt<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        if !self.cache {
            out.unsafe_to_cache_prepared();
        }
        for (text, n) in placeholders(&self.sql) {
            out.push_sql(text);
            if let Some(n) = n {
                let bind = n
                    .checked_sub(1)
                    .and_then(|i| self.binds.get(i))
                    .ok_or_else(|| {
                        diesel::result::Error::QueryBuilderError(
                            format!("placeholder ${n} has no bind").into(),
                        )
                    })?;
                bind.walk_ast(out.reborrow())?;
            }
        }
        Ok(())
    }
}

impl QueryId for Stmt<'_> {
    type QueryId = ();
    // Not a static id: diesel then keys its cache by the SQL text and bind types.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Stmt<'_> {
    type SqlType = Untyped;
}

impl<Conn> RunQueryDsl<Conn> for Stmt<'_> {}

#[cfg(test)]
mod tests {
    use super::placeholders;

    #[test]
    fn splits_at_numbered_placeholders_only() {
        let parts: Vec<_> = placeholders("SELECT $1, $$x$$, $12::text[] || '$'").collect();
        assert_eq!(
            parts,
            vec![
                ("SELECT ", Some(1)),
                (", $$x$$, ", Some(12)),
                ("::text[] || '$'", None)
            ]
        );
    }

    #[test]
    fn text_without_placeholders_is_one_part() {
        let parts: Vec<_> = placeholders("SELECT 1").collect();
        assert_eq!(parts, vec![("SELECT 1", None)]);
        assert_eq!(placeholders("").count(), 0);
    }
}
