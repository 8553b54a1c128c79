//! Practitioner bookings of Appointments, guarded by the exclusion constraint
//! `appointment_no_double_booking` (migrations/.._core/up.sql).

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Text, Timestamptz};

use super::schema::appointment_bookings as ab;
use super::StoreError;
use crate::model::ResourceId;
use crate::tenant::TenantId;

/// Replaces the bookings of one appointment. (No ON CONFLICT clause: without a
/// conflict target it would also swallow exclusion-constraint violations.) An overlap with another booking of
/// the same practitioner fails with [`StoreError::is_exclusion_violation`].
pub fn replace(
    conn: &mut PgConnection,
    tenant: &TenantId,
    appointment: &ResourceId,
    slots: &[(String, DateTime<Utc>, DateTime<Utc>)],
) -> Result<(), StoreError> {
    delete(conn, tenant, appointment)?;
    for (practitioner, start, end) in slots {
        super::stmt::Stmt::new(
            "INSERT INTO appointment_bookings (tenant_id, appointment_id, practitioner, period) \
             VALUES ($1, $2, $3, tstzrange($4, $5, '[)'))",
        )
        .bind::<Text, _>(tenant.as_str())
        .bind::<Text, _>(appointment.as_str())
        .bind::<Text, _>(practitioner)
        .bind::<Timestamptz, _>(start)
        .bind::<Timestamptz, _>(end)
        .execute(conn)?;
    }
    Ok(())
}

pub fn delete(
    conn: &mut PgConnection,
    tenant: &TenantId,
    appointment: &ResourceId,
) -> Result<(), StoreError> {
    diesel::delete(ab::table)
        .filter(ab::tenant_id.eq(tenant.as_str()))
        .filter(ab::appointment_id.eq(appointment.as_str()))
        .execute(conn)?;
    Ok(())
}
