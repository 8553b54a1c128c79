//! Errors of the storage layer. The FHIR boundary maps these onto
//! OperationOutcomes (src/fhir/error.rs); nothing here knows about HTTP.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::crypto::CryptoError;

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

/// The keyring answers in the store's error (crypto/key_source.rs): a value that
/// does not open is `Decrypt`, a missing active key `Corrupt`, and every other
/// crypto failure `Crypto` with its text.
impl From<CryptoError> for StoreError {
    fn from(e: CryptoError) -> Self {
        match e {
            CryptoError::UnknownKey(key_id) | CryptoError::Undecryptable { key_id } => {
                StoreError::Decrypt { key_id }
            }
            CryptoError::NoActiveKey(what) => StoreError::Corrupt(what.to_owned()),
            e => StoreError::Crypto(e.to_string()),
        }
    }
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

    /// A stored row that cannot be opened: its ciphertext does not decrypt
    /// (corrupt, forged, moved to another row, or under an unknown key) or its
    /// stored fields do not parse. Searches leave such a row out with a warning
    /// rather than failing whole (issue #15, "Availability").
    pub fn is_unreadable(&self) -> bool {
        matches!(
            self,
            StoreError::Decrypt { .. } | StoreError::Crypto(_) | StoreError::Corrupt(_)
        )
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

/// A stored row left out of a result because it could not be opened
/// ([`StoreError::is_unreadable`]); the search Bundle says so in a warning.
#[derive(Debug, Clone)]
pub struct Unreadable {
    pub resource_type: &'static str,
    /// The stored id (server-assigned or a validated client id, not PHI).
    pub id: String,
}

/// `Ok(Some)` for a row that opened, `Ok(None)` (noted in `skipped`, logged)
/// for one that did not, `Err` for every other failure.
pub fn skip_unreadable<T>(
    opened: Result<T, StoreError>,
    resource_type: &'static str,
    id: &str,
    skipped: &mut Vec<Unreadable>,
) -> Result<Option<T>, StoreError> {
    match opened {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_unreadable() => {
            tracing::error!(resource_type, id, error = %e, "a stored resource could not be read; left out of the results");
            skipped.push(Unreadable {
                resource_type,
                id: id.to_owned(),
            });
            Ok(None)
        }
        Err(e) => Err(e),
    }
}
