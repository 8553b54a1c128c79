//! Revocations every process applies while verifying tokens: revoked grants
//! and access tokens, disabled clients and users. Kept in memory and brought
//! up to date from `auth_revocations` by sequence number (every second, and
//! at once for the process's own revocations), so a verification costs no
//! database round trip; a revocation made by another process (the CLI) takes
//! effect here within a poll interval.

use std::collections::HashSet;

use crate::store::auth::revocations::Revocation;

#[derive(Debug, Default)]
pub struct Revoked {
    last_seq: i64,
    /// (tenant, kind, value).
    entries: HashSet<(String, String, String)>,
}

impl Revoked {
    pub fn last_seq(&self) -> i64 {
        self.last_seq
    }

    pub fn apply(&mut self, rows: Vec<Revocation>) {
        for r in rows {
            self.last_seq = self.last_seq.max(r.seq);
            self.entries.insert((r.tenant_id, r.kind, r.value));
        }
    }

    /// Applies a revocation made by this process before the poll sees it.
    pub fn note(&mut self, tenant: &str, kind: &str, value: &str) {
        self.entries
            .insert((tenant.to_owned(), kind.to_owned(), value.to_owned()));
    }

    pub fn is(&self, tenant: &str, kind: &str, value: &str) -> bool {
        // Cheap for the common case: nothing revoked at all.
        !self.entries.is_empty()
            && self
                .entries
                .contains(&(tenant.to_owned(), kind.to_owned(), value.to_owned()))
    }
}
