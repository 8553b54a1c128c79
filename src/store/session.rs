//! Pooled connections and the tenant each unit of work runs for.
//!
//! Row-level security compares every row's `tenant_id` with the setting
//! `app.tenant` (migrations/..000014_tenancy). A unit of work sets it one of
//! two ways:
//! - a write (and every CLI unit) is one transaction opened by
//!   `BEGIN; SELECT set_config('app.tenant', .., true)`: local to the
//!   transaction, so it ends with it
//!   (https://www.postgresql.org/docs/15/functions-admin.html#FUNCTIONS-ADMIN-SET);
//! - a read-only unit runs its statements without a transaction, under the
//!   session's setting, which is set (`set_config(.., false)`) only when the
//!   connection's session is not already set to that tenant. A read then costs
//!   one round trip, or two when its connection last served another tenant,
//!   where the transaction cost three: BEGIN, the statement, COMMIT
//!   (docs/performance.md, "What a transaction per unit of work costs"). At
//!   READ COMMITTED every statement takes its own snapshot inside a
//!   transaction as well, so reads see nothing different.
//!
//! Each pooled connection remembers the tenant its session is set to
//! ([`Conn`]); unbound work on a connection whose session is set first resets
//! it, so that work for no tenant never sees a tenant's rows.

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, ManageConnection};

use super::stmt::Stmt;
use super::StoreError;
use crate::tenant::TenantId;

/// A pooled connection and what its session's `app.tenant` is.
pub struct Conn {
    pub(super) pg: PgConnection,
    session: Session,
}

#[derive(Clone, PartialEq, Eq)]
enum Session {
    /// Never set: `current_setting('app.tenant', true)` is NULL or empty.
    Unset,
    Tenant(TenantId),
    /// A `set_config` or `RESET` failed part way: reset before any use.
    Unknown,
}

/// r2d2's manager for [`Conn`]: diesel's, with the session's tenant beside
/// the connection.
pub struct Manager(pub(super) ConnectionManager<PgConnection>);

impl ManageConnection for Manager {
    type Connection = Conn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Conn, Self::Error> {
        Ok(Conn {
            pg: self.0.connect()?,
            session: Session::Unset,
        })
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), Self::Error> {
        self.0.is_valid(&mut conn.pg)
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        self.0.has_broken(&mut conn.pg)
    }
}

/// A tenant binding: the tenant and the statements that set it.
#[derive(Clone)]
pub(super) struct Bound {
    pub(super) tenant: TenantId,
    /// `BEGIN` and the transaction-local setting, in one round trip.
    begin: std::sync::Arc<str>,
}

impl Bound {
    pub(super) fn new(tenant: &TenantId) -> Self {
        // The id is validated ([A-Za-z0-9._-], TenantId::parse), so it is
        // safe inside a literal.
        let t = tenant.as_str();
        Self {
            tenant: tenant.clone(),
            begin: format!("BEGIN; SELECT set_config('app.tenant', '{t}', true)").into(),
        }
    }
}

/// Runs `f` in one transaction that has set the tenant, when bound. A
/// transaction `f` opens itself becomes a savepoint inside this one
/// (diesel's nesting), with the same all-or-nothing effect for its part.
pub(super) fn in_transaction<T, E, F>(conn: &mut Conn, bound: Option<&Bound>, f: F) -> Result<T, E>
where
    F: FnOnce(&mut PgConnection) -> Result<T, E>,
    E: From<StoreError>,
{
    let Some(bound) = bound else {
        return unbound(conn, f);
    };
    let pg = &mut conn.pg;
    AnsiTransactionManager::begin_transaction_sql(pg, &bound.begin).map_err(StoreError::from)?;
    match f(pg) {
        Ok(v) => {
            AnsiTransactionManager::commit_transaction(pg).map_err(StoreError::from)?;
            Ok(v)
        }
        Err(e) => {
            // A failed rollback leaves the connection marked broken, and the
            // pool discards it (diesel's r2d2 `has_broken`).
            let _ = AnsiTransactionManager::rollback_transaction(pg);
            Err(e)
        }
    }
}

/// Runs read-only `f` without a transaction, under the session's setting
/// of the bound tenant (set first unless it already is).
pub(super) fn in_session<T, E, F>(conn: &mut Conn, bound: Option<&Bound>, f: F) -> Result<T, E>
where
    F: FnOnce(&mut PgConnection) -> Result<T, E>,
    E: From<StoreError>,
{
    let Some(bound) = bound else {
        return unbound(conn, f);
    };
    let wanted = Session::Tenant(bound.tenant.clone());
    if conn.session != wanted {
        conn.session = Session::Unknown;
        // A prepared statement (one per connection, for every tenant): sent
        // as text, the setting was parsed at every tenant switch, which with
        // reads spread over 200 clinics is nearly every read
        // (`base_yyparse` in the profile, docs/performance.md, issue #18).
        set_config(&mut conn.pg, bound.tenant.as_str(), false)?;
        conn.session = wanted;
    }
    f(&mut conn.pg)
}

/// Runs read-only `f` whose first statement sets the session's tenant to
/// the bound one itself (`tenant_reads::read_setting_tenant`), so that no round
/// trip sets it before. Until `f` succeeds the session is taken as unknown:
/// a failed statement undoes its setting, and the next unit sets or resets.
pub(super) fn in_session_set_by_first<T, E, F>(
    conn: &mut Conn,
    bound: Option<&Bound>,
    f: F,
) -> Result<T, E>
where
    F: FnOnce(&mut PgConnection) -> Result<T, E>,
    E: From<StoreError>,
{
    let Some(bound) = bound else {
        return Err(
            StoreError::Pool("a tenant's read on a handle bound to no tenant".into()).into(),
        );
    };
    conn.session = Session::Unknown;
    let v = f(&mut conn.pg)?;
    conn.session = Session::Tenant(bound.tenant.clone());
    Ok(v)
}

/// Work for no tenant: on a session set to none.
fn unbound<T, E, F>(conn: &mut Conn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut PgConnection) -> Result<T, E>,
    E: From<StoreError>,
{
    if conn.session != Session::Unset {
        conn.session = Session::Unknown;
        conn.pg
            .batch_execute("RESET app.tenant")
            .map_err(StoreError::from)?;
        conn.session = Session::Unset;
    }
    f(&mut conn.pg)
}

/// Sets the tenant of the transaction `conn` is in, for what follows in it
/// (`set_config(.., true)` ends with the transaction): the audit writer's
/// key reads, one tenant after another (store/keys.rs `TenantKeys`).
pub(super) fn set_tenant(conn: &mut PgConnection, tenant: &str) -> Result<(), StoreError> {
    set_config(conn, tenant, true)
}

/// `app.tenant`, for the transaction (`local`) or the session.
fn set_config(conn: &mut PgConnection, tenant: &str, local: bool) -> Result<(), StoreError> {
    use diesel::RunQueryDsl;
    Stmt::new("SELECT set_config('app.tenant', $1, $2)")
        .bind::<diesel::sql_types::Text, _>(tenant)
        .bind::<diesel::sql_types::Bool, _>(local)
        .execute(conn)?;
    Ok(())
}
