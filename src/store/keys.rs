//! The `data_keys` table: wrapped data keys per tenant, and the keyring's
//! [`KeySource`] over it.

use diesel::dsl::max;
use diesel::pg::PgConnection;
use diesel::prelude::*;

use super::schema::data_keys;
use super::StoreError;
use crate::crypto::KeySource;
pub use crate::crypto::WrappedKey;

/// The keyring reads and creates keys through the connection it is handed, in
/// the caller's transaction (crypto/key_source.rs).
impl KeySource for PgConnection {
    type Error = StoreError;

    fn active_key(
        &mut self,
        tenant: &str,
        purpose: &str,
    ) -> Result<Option<WrappedKey>, StoreError> {
        active(self, tenant, purpose)
    }

    fn key_by_id(
        &mut self,
        tenant: &str,
        key_id: i32,
    ) -> Result<Option<(String, WrappedKey)>, StoreError> {
        by_id(self, tenant, key_id)
    }

    fn next_key_id(&mut self, tenant: &str) -> Result<i32, StoreError> {
        next_id(self, tenant)
    }

    fn insert_key(
        &mut self,
        tenant: &str,
        purpose: &str,
        key: &WrappedKey,
        make_active: bool,
    ) -> Result<(), StoreError> {
        insert(self, tenant, purpose, key, make_active)
    }

    fn atomically<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.transaction(f)
    }
}

pub fn active(
    conn: &mut PgConnection,
    tenant: &str,
    purpose: &str,
) -> Result<Option<WrappedKey>, StoreError> {
    let row = data_keys::table
        .filter(data_keys::tenant_id.eq(tenant))
        .filter(data_keys::purpose.eq(purpose))
        .filter(data_keys::active.eq(true))
        .select((data_keys::key_id, data_keys::kek_id, data_keys::wrapped))
        .first::<(i32, String, Vec<u8>)>(conn)
        .optional()?;
    Ok(row.map(|(key_id, kek_id, wrapped)| WrappedKey {
        key_id,
        kek_id,
        wrapped,
    }))
}

pub fn by_id(
    conn: &mut PgConnection,
    tenant: &str,
    key_id: i32,
) -> Result<Option<(String, WrappedKey)>, StoreError> {
    let row = data_keys::table
        .filter(data_keys::tenant_id.eq(tenant))
        .filter(data_keys::key_id.eq(key_id))
        .select((data_keys::purpose, data_keys::kek_id, data_keys::wrapped))
        .first::<(String, String, Vec<u8>)>(conn)
        .optional()?;
    Ok(row.map(|(purpose, kek_id, wrapped)| {
        (
            purpose,
            WrappedKey {
                key_id,
                kek_id,
                wrapped,
            },
        )
    }))
}

pub fn next_id(conn: &mut PgConnection, tenant: &str) -> Result<i32, StoreError> {
    let current: Option<i32> = data_keys::table
        .filter(data_keys::tenant_id.eq(tenant))
        .select(max(data_keys::key_id))
        .first(conn)?;
    Ok(current.unwrap_or(0) + 1)
}

/// Inserts a key; when `active`, first retires the tenant's active key of that
/// purpose. Call inside a transaction.
pub fn insert(
    conn: &mut PgConnection,
    tenant: &str,
    purpose: &str,
    key: &WrappedKey,
    make_active: bool,
) -> Result<(), StoreError> {
    if make_active {
        diesel::update(data_keys::table)
            .filter(data_keys::tenant_id.eq(tenant))
            .filter(data_keys::purpose.eq(purpose))
            .filter(data_keys::active.eq(true))
            .set(data_keys::active.eq(false))
            .execute(conn)?;
    }
    diesel::insert_into(data_keys::table)
        .values((
            data_keys::tenant_id.eq(tenant),
            data_keys::key_id.eq(key.key_id),
            data_keys::purpose.eq(purpose),
            data_keys::kek_id.eq(&key.kek_id),
            data_keys::wrapped.eq(&key.wrapped),
            data_keys::active.eq(make_active),
        ))
        .execute(conn)?;
    Ok(())
}

/// (key_id, purpose, active, created_at).
pub type KeyInfo = (i32, String, bool, chrono::DateTime<chrono::Utc>);

/// Every key of the tenant.
pub fn list(conn: &mut PgConnection, tenant: &str) -> Result<Vec<KeyInfo>, StoreError> {
    Ok(data_keys::table
        .filter(data_keys::tenant_id.eq(tenant))
        .order(data_keys::key_id)
        .select((
            data_keys::key_id,
            data_keys::purpose,
            data_keys::active,
            data_keys::created_at,
        ))
        .load(conn)?)
}

/// The keys of several tenants read in one transaction (the audit writer's,
/// which stores many tenants' records at once): each read first sets the
/// transaction's tenant to the one it is for (row-level security shows a
/// transaction only its tenant's keys), and only when it is not set to it
/// already, so that a batch whose keys are all cached costs no statement.
pub struct TenantKeys<'c> {
    conn: &'c mut PgConnection,
    set: Option<String>,
}

impl<'c> TenantKeys<'c> {
    pub fn new(conn: &'c mut PgConnection) -> Self {
        Self { conn, set: None }
    }

    /// The connection, for statements that set their tenant themselves.
    pub fn conn(&mut self) -> &mut PgConnection {
        self.conn
    }

    fn tenant(&mut self, tenant: &str) -> Result<&mut PgConnection, StoreError> {
        if self.set.as_deref() != Some(tenant) {
            self.set = None;
            super::session::set_tenant(self.conn, tenant)?;
            self.set = Some(tenant.to_owned());
        }
        Ok(self.conn)
    }
}

impl KeySource for TenantKeys<'_> {
    type Error = StoreError;

    fn active_key(
        &mut self,
        tenant: &str,
        purpose: &str,
    ) -> Result<Option<WrappedKey>, StoreError> {
        active(self.tenant(tenant)?, tenant, purpose)
    }

    fn key_by_id(
        &mut self,
        tenant: &str,
        key_id: i32,
    ) -> Result<Option<(String, WrappedKey)>, StoreError> {
        by_id(self.tenant(tenant)?, tenant, key_id)
    }

    fn next_key_id(&mut self, tenant: &str) -> Result<i32, StoreError> {
        next_id(self.tenant(tenant)?, tenant)
    }

    fn insert_key(
        &mut self,
        tenant: &str,
        purpose: &str,
        key: &WrappedKey,
        make_active: bool,
    ) -> Result<(), StoreError> {
        insert(self.tenant(tenant)?, tenant, purpose, key, make_active)
    }

    fn atomically<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        // A savepoint inside the writer's transaction (diesel nests). A
        // tenant set inside it is undone with it when it rolls back.
        use diesel::connection::{AnsiTransactionManager, TransactionManager};
        AnsiTransactionManager::begin_transaction(self.conn)?;
        match f(self) {
            Ok(v) => {
                AnsiTransactionManager::commit_transaction(self.conn)?;
                Ok(v)
            }
            Err(e) => {
                self.set = None;
                let _ = AnsiTransactionManager::rollback_transaction(self.conn);
                Err(e)
            }
        }
    }
}
