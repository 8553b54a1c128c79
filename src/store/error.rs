//! Errors of the storage layer. The FHIR boundary maps these onto
//! OperationOutcomes (src/fhir/error.rs); nothing here knows about HTTP.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no database connection available: {0}")]
    Pool(String),
    #[error("database error: {0}")]
    Db(#[from] DieselError),
    #[error("a stored value could not be decrypted (key {key_id})")]
    Decrypt { key_id: i32 },
    #[error("crypto failure: {0}")]
    Crypto(String),
    #[error("blocking task failed: {0}")]
    Task(String),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// SQLSTATE 23P01: an exclusion constraint refused the row (double booking).
    pub fn is_exclusion_violation(&self) -> bool {
        self.sqlstate() == Some("23P01")
    }

    /// SQLSTATE 40P01. Concurrent inserts checked by one exclusion constraint can
    /// each wait on the other's uncommitted row; PostgreSQL then aborts one of
    /// them (https://www.postgresql.org/docs/15/ddl-constraints.html#DDL-CONSTRAINTS-EXCLUSION).
    pub fn is_deadlock(&self) -> bool {
        self.sqlstate() == Some("40P01")
    }

    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            StoreError::Db(DieselError::DatabaseError(
                DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }

    /// The database could not be reached, or the connection broke under the
    /// query (server stopped, restarted or killed: libpq reports the connection
    /// bad, which diesel names `ClosedConnection`). A 503 with Retry-After, not
    /// a 500: the request was not the problem (issue #15, "Availability").
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Pool(_) => true,
            StoreError::Db(e) => lost_connection(e),
            _ => false,
        }
    }

    /// Serialization failures and deadlocks are worth one retry of the whole unit.
    pub fn is_retryable(&self) -> bool {
        matches!(self.sqlstate(), Some("40001") | Some("40P01"))
            || matches!(
                self,
                StoreError::Db(DieselError::DatabaseError(
                    DatabaseErrorKind::SerializationFailure,
                    _
                ))
            )
    }

    fn sqlstate(&self) -> Option<&str> {
        match self {
            // diesel exposes the constraint name but not SQLSTATE for every kind, so
            // Unknown-kind errors are classified by the constraint they name.
            StoreError::Db(DieselError::DatabaseError(kind, info)) => match kind {
                DatabaseErrorKind::UniqueViolation => Some("23505"),
                DatabaseErrorKind::SerializationFailure => Some("40001"),
                _ if info.constraint_name() == Some("appointment_no_double_booking") => {
                    Some("23P01")
                }
                _ if info.message().contains("deadlock detected") => Some("40P01"),
                _ => None,
            },
            _ => None,
        }
    }
}

fn lost_connection(e: &DieselError) -> bool {
    match e {
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _,
        ) => true,
        // A transaction whose connection broke cannot be rolled back either.
        DieselError::BrokenTransactionManager => true,
        DieselError::RollbackErrorOnCommit { commit_error, .. } => lost_connection(commit_error),
        _ => false,
    }
}
