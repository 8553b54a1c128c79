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
    // Concurrent bookings of one practitioner queue here, in practitioner
    // order, until the first commits. Without it two overlapping inserts each
    // find the other's uncommitted row, wait for each other, and stall until
    // PostgreSQL's deadlock check (deadlock_timeout, 1 s) aborts one: fifty
    // racing bookings held pooled connections for seconds that way. The
    // exclusion constraint still decides; this only orders the contenders.
    let mut practitioners: Vec<&str> = slots.iter().map(|(p, _, _)| p.as_str()).collect();
    practitioners.sort_unstable();
    practitioners.dedup();
    for practitioner in practitioners {
        super::stmt::Stmt::new("SELECT pg_advisory_xact_lock(hashtextextended($1, 11))")
            .bind::<Text, _>(format!("booking|{tenant}|{practitioner}"))
            .execute(conn)?;
    }
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
