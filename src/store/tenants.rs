//! The tenants (clinics) this deployment serves: a server-level table (no
//! row-level security), read by the serving role, written by `fhirgate
//! tenants` as the owner (store/role.rs).

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;

use super::schema::tenants;
use super::StoreError;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tenants)]
pub struct TenantRow {
    pub id: String,
    pub name: String,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    /// Per-tenant overrides of the server's rate limits (None: the default).
    pub rate_per_sec: Option<f64>,
    pub burst: Option<f64>,
    pub client_rate_per_sec: Option<f64>,
    pub client_burst: Option<f64>,
    pub hl7_queue: Option<i32>,
}

/// Rate overrides to set; a `None` field keeps what is stored.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = tenants)]
pub struct RateChanges {
    pub rate_per_sec: Option<f64>,
    pub burst: Option<f64>,
    pub client_rate_per_sec: Option<f64>,
    pub client_burst: Option<f64>,
    pub hl7_queue: Option<i32>,
}

pub fn list(conn: &mut PgConnection) -> Result<Vec<TenantRow>, StoreError> {
    Ok(tenants::table
        .select(TenantRow::as_select())
        .order(tenants::id)
        .load(conn)?)
}

pub fn get(conn: &mut PgConnection, id: &str) -> Result<Option<TenantRow>, StoreError> {
    Ok(tenants::table
        .find(id)
        .select(TenantRow::as_select())
        .first(conn)
        .optional()?)
}

/// Adds a tenant; false when one with this id exists already.
pub fn add(conn: &mut PgConnection, id: &str, name: &str) -> Result<bool, StoreError> {
    let n = diesel::insert_into(tenants::table)
        .values((tenants::id.eq(id), tenants::name.eq(name)))
        .on_conflict_do_nothing()
        .execute(conn)?;
    Ok(n == 1)
}

/// Disables or enables a tenant; false when there is none with this id.
pub fn set_disabled(conn: &mut PgConnection, id: &str, disabled: bool) -> Result<bool, StoreError> {
    let n = diesel::update(tenants::table.find(id))
        .set(tenants::disabled.eq(disabled))
        .execute(conn)?;
    Ok(n == 1)
}

/// Sets rate overrides; false when there is no tenant with this id.
pub fn set_rates(
    conn: &mut PgConnection,
    id: &str,
    rates: &RateChanges,
) -> Result<bool, StoreError> {
    if rates.rate_per_sec.is_none()
        && rates.burst.is_none()
        && rates.client_rate_per_sec.is_none()
        && rates.client_burst.is_none()
        && rates.hl7_queue.is_none()
    {
        return Ok(get(conn, id)?.is_some());
    }
    let n = diesel::update(tenants::table.find(id))
        .set(rates)
        .execute(conn)?;
    Ok(n == 1)
}
