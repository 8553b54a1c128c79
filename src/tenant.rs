//! Tenant identity. Every row in the store carries one, and the row-level
//! security policies compare it with the transaction's `app.tenant`
//! (migrations/..000014_tenancy). The default tenant serves `/fhir`; every
//! other one `/t/{slug}/fhir`.

use std::fmt;

/// A tenant id: 1-64 characters of `[A-Za-z0-9-_.]`. Kept distinct from resource ids
/// so the two can never be swapped in a query.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(String);

impl TenantId {
    pub const DEFAULT: &'static str = "default";
    /// The server's own scope: HL7 messages no tenant claims, the audit trail
    /// of tenant administration. Not a slug (it starts with `_`), so no
    /// clinic can be given it and no URL reaches it.
    pub const SERVER: &'static str = "_server";

    /// The slug of a new clinic, as its URL carries it: 1-63 characters of
    /// `[a-z0-9-]`, starting with a letter or digit.
    pub fn parse_slug(s: &str) -> Result<Self, String> {
        let mut bytes = s.bytes();
        let ok = matches!(bytes.next(), Some(b'a'..=b'z' | b'0'..=b'9'))
            && s.len() <= 63
            && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(format!(
                "invalid clinic slug {s:?}: 1-63 characters of a-z, 0-9 and '-', starting with a letter or digit"
            ))
        }
    }

    /// The server-level scope ([`Self::SERVER`]).
    pub fn server() -> Self {
        Self(Self::SERVER.to_owned())
    }

    pub fn is_default(&self) -> bool {
        self.0 == Self::DEFAULT
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(format!("invalid tenant id {s:?}"))
        }
    }

    pub fn default_tenant() -> Self {
        Self(Self::DEFAULT.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_are_validated() {
        assert!(TenantId::parse("default").is_ok());
        assert!(TenantId::parse("clinic-7.a_b").is_ok());
        assert!(TenantId::parse("").is_err());
        assert!(TenantId::parse("a b").is_err());
        assert!(TenantId::parse(&"x".repeat(65)).is_err());
        assert!(TenantId::parse_slug("clinic-7").is_ok());
        assert!(TenantId::parse_slug("_server").is_err());
        assert!(TenantId::parse_slug("Clinic").is_err());
        assert!(TenantId::parse_slug("-a").is_err());
        assert!(TenantId::parse_slug("a.b").is_err());
    }
}
