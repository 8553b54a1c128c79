//! One INSERT for all of a resource's (or a batch's) index rows: a
//! data-modifying CTE per table, column vectors bound as arrays and unnested.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::sql_types::{Array, Bytea, Nullable, Text, Timestamptz};
use diesel::RunQueryDsl;

use crate::store::StoreError;
use crate::tenant::TenantId;

type T = Option<String>;
type B = Option<Vec<u8>>;
type D = Option<DateTime<Utc>>;

/// One column vector, bound as an array.
pub(super) enum Col {
    Text(Vec<String>),
    NText(Vec<T>),
    NBytes(Vec<B>),
    NTime(Vec<D>),
}

impl Col {
    fn sql_type(&self) -> &'static str {
        match self {
            Col::Text(_) | Col::NText(_) => "text",
            Col::NBytes(_) => "bytea",
            Col::NTime(_) => "timestamptz",
        }
    }
}

/// Accumulates one INSERT per table into a single statement; $1 and $2 are the
/// tenant and resource type, every other placeholder an array.
#[derive(Default)]
pub(super) struct Builder {
    inserts: Vec<String>,
    binds: Vec<Col>,
}

impl Builder {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn table(
        &mut self,
        table: &str,
        cols: &str,
        select: &str,
        alias: &str,
        ids: Vec<String>,
        columns: Vec<Col>,
    ) {
        if ids.is_empty() {
            return;
        }
        let mut args = vec![format!("${}::text[]", self.binds.len() + 3)];
        self.binds.push(Col::Text(ids));
        for c in columns {
            args.push(format!("${}::{}[]", self.binds.len() + 3, c.sql_type()));
            self.binds.push(c);
        }
        self.inserts.push(format!(
            "INSERT INTO {table} (tenant_id, resource_type, resource_id, {cols}) SELECT $1, $2, {select} FROM unnest({}) AS {alias}",
            args.join(", ")
        ));
    }

    pub(super) fn execute(
        self,
        conn: &mut PgConnection,
        tenant: &TenantId,
        rtype: &str,
    ) -> Result<(), StoreError> {
        let Some((last, first)) = self.inserts.split_last() else {
            return Ok(());
        };
        let sql = if first.is_empty() {
            last.clone()
        } else {
            let ctes: Vec<String> = first
                .iter()
                .enumerate()
                .map(|(n, s)| format!("i{n} AS ({s})"))
                .collect();
            format!("WITH {} {last}", ctes.join(", "))
        };
        let mut q = diesel::sql_query(sql)
            .into_boxed::<diesel::pg::Pg>()
            .bind::<Text, _>(tenant.as_str().to_owned())
            .bind::<Text, _>(rtype.to_owned());
        for col in self.binds {
            q = match col {
                Col::Text(v) => q.bind::<Array<Text>, _>(v),
                Col::NText(v) => q.bind::<Array<Nullable<Text>>, _>(v),
                Col::NBytes(v) => q.bind::<Array<Nullable<Bytea>>, _>(v),
                Col::NTime(v) => q.bind::<Array<Nullable<Timestamptz>>, _>(v),
            };
        }
        q.execute(conn)?;
        Ok(())
    }
}
