//! Access tokens of trusted external OpenID Connect providers (TOML
//! `[[auth.external_issuers]]`): verified against the provider's JWKS (a file,
//! or an https URL read at start-up and again when a token names a key not
//! yet known, at most once a minute: the provider rotated its keys), with only
//! the asymmetric algorithms configured for it and its key allows (RFC 8725
//! 3.1: never `none`, and never an HMAC algorithm, whose "key" would be the
//! provider's public key; RFC 7517 4.4 a key's own `alg`), `iss` and `aud`
//! checked.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::{decode, Algorithm, Header, Validation};
use serde_json::Value;

use super::authority::refused;
use super::jwk::{self, PublicKey};
use super::scopes::Scopes;
use super::token::AccessClaims;
use super::AuthError;
use crate::config::auth::ExternalIssuer;
use crate::tenant::TenantId;

/// A provider's keys are fetched again for an unknown `kid` at most this often.
const REFETCH_EVERY: Duration = Duration::from_secs(60);

struct Trusted {
    config: ExternalIssuer,
    algorithms: Vec<Algorithm>,
    keys: RwLock<Arc<Vec<PublicKey>>>,
    last_fetch: Mutex<Instant>,
    /// (claim, role name -> ceiling scopes).
    roles: Option<(String, std::collections::BTreeMap<String, String>)>,
}

#[derive(Default)]
pub struct External {
    trusted: Vec<Trusted>,
}

const ASYMMETRIC: [Algorithm; 8] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
];

/// A JWKS URL must be https (the keys decide whom to trust), or on this host.
fn check_url(u: &str) -> Result<(), AuthError> {
    let url = reqwest::Url::parse(u).map_err(|_| AuthError::Internal(format!("bad URL {u}")))?;
    let loopback = url.host_str().is_some_and(|h| {
        h == "localhost"
            || h.trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|a| a.is_loopback())
    });
    if url.scheme() == "https" || (url.scheme() == "http" && loopback) {
        Ok(())
    } else {
        Err(AuthError::Internal(format!(
            "the JWKS URL {u} must be https (http only on a loopback address)"
        )))
    }
}

/// The provider's JWKS document.
async fn fetch(i: &ExternalIssuer) -> Result<Value, AuthError> {
    let text = match (&i.jwks_file, &i.jwks_url) {
        (Some(f), _) => std::fs::read_to_string(f)
            .map_err(|e| AuthError::Internal(format!("reading {}: {e}", f.display())))?,
        (None, Some(u)) => {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(AuthError::internal)?;
            client
                .get(u)
                .header(reqwest::header::ACCEPT, "application/json")
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .map_err(|e| AuthError::Internal(format!("fetching {u}: {e}")))?
                .text()
                .await
                .map_err(|e| AuthError::Internal(format!("fetching {u}: {e}")))?
        }
        (None, None) => {
            return Err(AuthError::Internal(format!(
                "external issuer {} needs jwks_file or jwks_url",
                i.issuer
            )))
        }
    };
    serde_json::from_str(&text)
        .map_err(|e| AuthError::Internal(format!("JWKS of {}: {e}", i.issuer)))
}

/// The usable signature keys of a provider's JWKS, each limited to the
/// configured algorithms. Others (encryption keys, unsupported types) are
/// skipped: a provider's set may hold them.
fn usable(
    i: &ExternalIssuer,
    set: &Value,
    algs: &[Algorithm],
) -> Result<Vec<PublicKey>, AuthError> {
    let members =
        jwk::members(set).map_err(|m| AuthError::Internal(format!("JWKS of {}: {m}", i.issuer)))?;
    let mut keys = Vec::new();
    for m in members {
        match jwk::public_key(m) {
            Ok(mut k) => {
                k.algorithms.retain(|a| algs.contains(a));
                if !k.algorithms.is_empty() {
                    keys.push(k);
                }
            }
            Err(why) => {
                tracing::info!(issuer = %i.issuer, why, "skipping a key of an external issuer")
            }
        }
    }
    if keys.is_empty() {
        return Err(AuthError::Internal(format!(
            "the JWKS of {} has no key for the configured algorithms",
            i.issuer
        )));
    }
    Ok(keys)
}

impl External {
    /// The issuers trusted at `tenant`'s base: those mapped to it (`tenant`),
    /// those whose tokens name their clinic (`tenant_claim`), and, for the
    /// default tenant, those with neither.
    pub async fn load(
        issuers: &[ExternalIssuer],
        roles: &std::collections::BTreeMap<String, String>,
        tenant: &TenantId,
    ) -> Result<Self, AuthError> {
        let mut trusted = Vec::new();
        let serves = |i: &ExternalIssuer| match (&i.tenant, &i.tenant_claim) {
            (Some(t), _) => t == tenant.as_str(),
            (None, Some(_)) => true,
            (None, None) => tenant.is_default(),
        };
        for i in issuers.iter().filter(|i| serves(i)) {
            if let Some(u) = &i.jwks_url {
                check_url(u)?;
            }
            let names = if i.algorithms.is_empty() {
                vec!["RS256".to_owned()]
            } else {
                i.algorithms.clone()
            };
            let mut algorithms = Vec::new();
            for n in &names {
                let alg: Algorithm = n
                    .parse()
                    .map_err(|_| AuthError::Internal(format!("unknown algorithm {n}")))?;
                if !ASYMMETRIC.contains(&alg) {
                    return Err(AuthError::Internal(format!(
                        "algorithm {n} is not accepted for an external issuer (asymmetric only)"
                    )));
                }
                algorithms.push(alg);
            }
            let keys = usable(i, &fetch(i).await?, &algorithms)?;
            trusted.push(Trusted {
                config: i.clone(),
                algorithms,
                keys: RwLock::new(Arc::new(keys)),
                last_fetch: Mutex::new(Instant::now()),
                roles: i.role_claim.clone().map(|c| (c, roles.clone())),
            });
        }
        Ok(Self { trusted })
    }

    /// Verifies a token whose `iss` is not the built-in issuer.
    pub async fn verify(
        &self,
        token: &str,
        header: &Header,
        iss: &str,
        request_base: Option<&str>,
        own_base: &str,
        tenant: &TenantId,
    ) -> Result<AccessClaims, AuthError> {
        let t = self
            .trusted
            .iter()
            .find(|t| t.config.issuer == iss)
            .ok_or_else(|| AuthError::InvalidToken("wrong issuer".into()))?;
        if !t.algorithms.contains(&header.alg) {
            return Err(AuthError::InvalidToken("algorithm not accepted".into()));
        }
        let mut keys = t.keys();
        if find(&keys, header).is_none() && t.refetch().await {
            keys = t.keys();
        }
        let key = find(&keys, header)
            .ok_or_else(|| AuthError::InvalidToken("unknown signing key".into()))?;
        let mut v = Validation::new(header.alg);
        v.leeway = 30;
        v.validate_nbf = true;
        v.set_issuer(&[&t.config.issuer]);
        match &t.config.audience {
            Some(a) => v.set_audience(&[a]),
            None => {
                let mut auds = vec![own_base];
                auds.extend(request_base);
                v.set_audience(&auds);
            }
        }
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let c = decode::<Value>(token, &key.key, &v)
            .map_err(|e| refused(&e))?
            .claims;
        // A token that names its clinic is valid at that clinic's base only.
        if let Some(claim) = &t.config.tenant_claim {
            if c.get(claim).and_then(Value::as_str) != Some(tenant.as_str()) {
                return Err(AuthError::InvalidToken("issued for another tenant".into()));
            }
        }
        Ok(t.claims(&c, own_base, tenant))
    }
}

/// The key the header names (by `kid`; without one, the only key there is)
/// that allows the header's algorithm.
fn find<'a>(keys: &'a [PublicKey], header: &Header) -> Option<&'a PublicKey> {
    let fits = |k: &&PublicKey| k.allows(header.alg);
    match &header.kid {
        Some(kid) => keys
            .iter()
            .filter(fits)
            .find(|k| k.kid.as_deref() == Some(kid.as_str())),
        None if keys.len() == 1 => keys.iter().find(fits),
        None => None,
    }
}

impl Trusted {
    fn keys(&self) -> Arc<Vec<PublicKey>> {
        match self.keys.read() {
            Ok(k) => k.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Fetches a URL issuer's keys again, when the last fetch is a minute
    /// old; true when new keys were installed.
    async fn refetch(&self) -> bool {
        if self.config.jwks_url.is_none() {
            return false;
        }
        let due = match self.last_fetch.lock() {
            Ok(mut last) if last.elapsed() >= REFETCH_EVERY => {
                *last = Instant::now();
                true
            }
            _ => false,
        };
        if !due {
            return false;
        }
        let fresh = match fetch(&self.config).await {
            Ok(set) => usable(&self.config, &set, &self.algorithms),
            Err(e) => Err(e),
        };
        match fresh {
            Ok(keys) => {
                if let Ok(mut k) = self.keys.write() {
                    *k = Arc::new(keys);
                }
                true
            }
            Err(e) => {
                tracing::warn!(issuer = %self.config.issuer, error = %e, "refreshing an external issuer's keys");
                false
            }
        }
    }

    /// The verified claims as this server's access claims.
    fn claims(&self, c: &Value, own_base: &str, tenant: &TenantId) -> AccessClaims {
        let text = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_owned);
        // `scope` (RFC 8693 4.2, SMART) or an array `scp` (some providers).
        let scope = text("scope").unwrap_or_else(|| {
            c.get("scp")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default()
        });
        let scope = match &self.roles {
            Some((claim, roles)) => {
                let ceiling = text(claim)
                    .and_then(|r| roles.get(&r).cloned())
                    .unwrap_or_default();
                Scopes::parse(&scope)
                    .narrow(&Scopes::parse(&ceiling), true)
                    .to_string()
            }
            None => scope,
        };
        let issuer = &self.config.issuer;
        AccessClaims {
            iss: issuer.clone(),
            sub: text("sub").unwrap_or_default(),
            aud: own_base.to_owned(),
            exp: c.get("exp").and_then(Value::as_i64).unwrap_or(0),
            iat: c.get("iat").and_then(Value::as_i64).unwrap_or(0),
            jti: text("jti").unwrap_or_default(),
            scope,
            client_id: text("client_id")
                .or_else(|| text("azp"))
                .unwrap_or_else(|| format!("external:{issuer}")),
            tenant: tenant.as_str().to_owned(),
            patient: text("patient"),
            encounter: text("encounter"),
            fhir_user: text("fhirUser"),
            username: text("sub").map(|s| format!("{issuer}#{s}")),
            grant: None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::check_url;

    #[test]
    fn jwks_urls_are_https_or_loopback() {
        assert!(check_url("https://idp.example/jwks").is_ok());
        assert!(check_url("http://127.0.0.1:8080/jwks").is_ok());
        assert!(check_url("http://localhost/jwks").is_ok());
        assert!(check_url("http://[::1]:9/jwks").is_ok());
        assert!(check_url("http://idp.example/jwks").is_err());
        assert!(check_url("http://10.0.0.1/jwks").is_err());
        assert!(check_url("file:///etc/jwks").is_err());
    }
}
