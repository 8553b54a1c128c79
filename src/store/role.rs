//! The serving role: the gateway answers requests through a login that is
//! neither superuser nor `BYPASSRLS`, so the row-level security policies of
//! migrations/..000014_tenancy hold for every statement it runs
//! (https://www.postgresql.org/docs/15/ddl-rowsecurity.html: "Superusers and
//! roles with the BYPASSRLS attribute always bypass the row security
//! system"). It logs in as that role: a superuser session that had `SET
//! ROLE` would be one injected `RESET ROLE` away from every tenant's rows.
//!
//! `fhirgate migrate` (and every start, after the migrations) creates the
//! role when it is missing and grants it what serving needs: rows of every
//! table, read-only on the tenants and the migrations' own table. Migrations
//! and maintenance (ANALYZE) keep the owner's login.

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::sql_types::{Bool, Text};
use diesel::{sql_query, Connection, QueryableByName, RunQueryDsl};

use super::StoreError;

/// The role's name unless configured (`--db-serving-role`).
pub use crate::config::DEFAULT_SERVING_ROLE as DEFAULT_ROLE;

/// Tables the serving role reads but never writes.
const READ_ONLY: [&str; 2] = ["tenants", "__diesel_schema_migrations"];

#[derive(QueryableByName)]
struct Flags {
    #[diesel(sql_type = Bool)]
    privileged: bool,
}

/// A role name PostgreSQL takes unquoted: `[a-z_][a-z0-9_]{0,62}`.
pub fn valid_role(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'_'))
        && name.len() <= 63
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Creates `role` if missing (LOGIN, no other attribute; `password` set
/// when given) and grants it the serving privileges on this database. Fails
/// when an existing role of that name is a superuser or bypasses RLS.
pub fn ensure(
    conn: &mut PgConnection,
    role: &str,
    password: Option<&str>,
) -> Result<(), StoreError> {
    if !valid_role(role) {
        return Err(StoreError::Corrupt(format!(
            "invalid serving role name {role:?}"
        )));
    }
    let exists = |conn: &mut PgConnection| -> Result<Option<bool>, StoreError> {
        let rows: Vec<Flags> = sql_query(
            "SELECT rolsuper OR rolbypassrls AS privileged FROM pg_roles WHERE rolname = $1",
        )
        .bind::<Text, _>(role)
        .load(conn)?;
        Ok(rows.first().map(|r| r.privileged))
    };
    match exists(conn)? {
        Some(true) => {
            return Err(StoreError::Corrupt(format!(
                "the serving role {role} is a superuser or has BYPASSRLS: row-level security \
                 would not apply to it; choose another role (--db-serving-role)"
            )))
        }
        Some(false) => {}
        None => {
            let created = sql_query(format!(
                "CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"
            ))
            .execute(conn);
            // Another gateway (or test) created it meanwhile: roles are
            // cluster-wide, the migration lock is per database.
            if let Err(e) = created {
                if exists(conn)?.is_none() {
                    return Err(e.into());
                }
            }
        }
    }
    if let Some(pw) = password {
        // ALTER ROLE takes no bind parameter; format() quotes the literal.
        let stmt: Vec<Stmt> =
            sql_query("SELECT format('ALTER ROLE %I PASSWORD %L', $1::text, $2::text) AS sql")
                .bind::<Text, _>(role)
                .bind::<Text, _>(pw)
                .load(conn)?;
        if let Some(s) = stmt.first() {
            sql_query(&s.sql).execute(conn)?;
        }
    }
    let read_only = READ_ONLY.join(", ");
    // Two processes granting at once (two `fhirgate` commands started
    // together) both update the same catalog rows, and one fails with
    // "tuple concurrently updated": the grants take a lock of this database
    // first, held to the end of the transaction (a savepoint's, when the
    // caller is in one, is held to the end of the caller's).
    conn.transaction(|conn| {
        sql_query("SELECT pg_advisory_xact_lock(hashtext('fhirgate:serving-role-grants'))")
            .execute(conn)?;
        // Simple protocol: several commands in one round trip.
        conn.batch_execute(&format!(
            "GRANT USAGE ON SCHEMA public TO {role}; \
             GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}; \
             REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {read_only} FROM {role}; \
             GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"
        ))
    })?;
    Ok(())
}

#[derive(QueryableByName)]
struct Stmt {
    #[diesel(sql_type = Text)]
    sql: String,
}

/// Whether this session's login bypasses row-level security: the serving
/// pool refuses to start on such a login.
pub fn bypasses_rls(conn: &mut PgConnection) -> Result<bool, StoreError> {
    let rows: Vec<Flags> = sql_query(
        "SELECT rolsuper OR rolbypassrls AS privileged FROM pg_roles WHERE rolname = current_user",
    )
    .load(conn)?;
    Ok(rows.first().is_none_or(|r| r.privileged))
}

/// `owner_url` logging in as `role` instead (a `postgres://` URL or a
/// keyword/value string).
pub fn url_as(owner_url: &str, role: &str) -> String {
    let Some(scheme_end) = owner_url.find("://").map(|i| i + 3) else {
        return format!("{owner_url} user={role}");
    };
    let (head, rest) = owner_url.split_at(scheme_end);
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    // A `user=` query parameter would override the authority's user.
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|kv| !kv.starts_with("user=") && !kv.starts_with("password="))
                .collect();
            if kept.is_empty() {
                path.to_owned()
            } else {
                format!("{path}?{}", kept.join("&"))
            }
        }
        None => tail.to_owned(),
    };
    format!("{head}{role}@{host}{tail}")
}

/// The password a `postgres://user:password@host` URL carries, decoded.
pub fn url_password(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let (userinfo, _) = authority.rsplit_once('@')?;
    let (_, pw) = userinfo.split_once(':')?;
    Some(percent_decode(pw))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_log_in_as_the_role() {
        assert_eq!(
            url_as(
                "postgres://root@127.0.0.1:5432/db?sslmode=disable",
                "fhirgate_app"
            ),
            "postgres://fhirgate_app@127.0.0.1:5432/db?sslmode=disable"
        );
        assert_eq!(
            url_as("postgres://127.0.0.1/db", "app"),
            "postgres://app@127.0.0.1/db"
        );
        assert_eq!(
            url_as("postgres://u:p%40ss@h/db?user=x&host=/s", "app"),
            "postgres://app@h/db?host=/s"
        );
        assert_eq!(
            url_as("host=/tmp dbname=x", "app"),
            "host=/tmp dbname=x user=app"
        );
        assert_eq!(
            url_password("postgres://u:p%40ss@h/db").as_deref(),
            Some("p@ss")
        );
        assert_eq!(url_password("postgres://u@h/db"), None);
    }

    #[test]
    fn role_names_are_plain_identifiers() {
        assert!(valid_role("fhirgate_app"));
        assert!(!valid_role("Fhirgate"));
        assert!(!valid_role("a;drop"));
        assert!(!valid_role(""));
    }
}
