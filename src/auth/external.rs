//! Access tokens of trusted external OpenID Connect providers (TOML
//! `[[auth.external_issuers]]`): verified against the provider's JWKS (a file,
//! or a URL read at start-up), with only the asymmetric algorithms configured
//! for it (RFC 8725 3.1: never `none`, and never an HMAC algorithm, whose
//! "key" would be the provider's public key), `iss` and `aud` checked.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, Algorithm, DecodingKey, Header, Validation};
use serde_json::Value;

use super::authority::refused;
use super::scopes::Scopes;
use super::token::AccessClaims;
use super::AuthError;
use crate::config::auth::ExternalIssuer;
use crate::tenant::TenantId;

struct Trusted {
    issuer: String,
    audience: Option<String>,
    algorithms: Vec<Algorithm>,
    keys: Vec<(Option<String>, DecodingKey)>,
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

impl External {
    pub async fn load(
        issuers: &[ExternalIssuer],
        roles: &std::collections::BTreeMap<String, String>,
    ) -> Result<Self, AuthError> {
        let mut trusted = Vec::new();
        for i in issuers {
            let text = match (&i.jwks_file, &i.jwks_url) {
                (Some(f), _) => std::fs::read_to_string(f)
                    .map_err(|e| AuthError::Internal(format!("reading {}: {e}", f.display())))?,
                (None, Some(u)) => reqwest::get(u)
                    .await
                    .and_then(reqwest::Response::error_for_status)
                    .map_err(|e| AuthError::Internal(format!("fetching {u}: {e}")))?
                    .text()
                    .await
                    .map_err(|e| AuthError::Internal(format!("fetching {u}: {e}")))?,
                (None, None) => {
                    return Err(AuthError::Internal(format!(
                        "external issuer {} needs jwks_file or jwks_url",
                        i.issuer
                    )))
                }
            };
            let set: JwkSet = serde_json::from_str(&text)
                .map_err(|e| AuthError::Internal(format!("JWKS of {}: {e}", i.issuer)))?;
            let mut keys = Vec::new();
            for k in &set.keys {
                let key = DecodingKey::from_jwk(k).map_err(AuthError::internal)?;
                keys.push((k.common.key_id.clone(), key));
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
            trusted.push(Trusted {
                issuer: i.issuer.clone(),
                audience: i.audience.clone(),
                algorithms,
                keys,
                roles: i.role_claim.clone().map(|c| (c, roles.clone())),
            });
        }
        Ok(Self { trusted })
    }

    /// Verifies a token whose `iss` is not the built-in issuer.
    pub fn verify(
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
            .find(|t| t.issuer == iss)
            .ok_or_else(|| AuthError::InvalidToken("wrong issuer".into()))?;
        if !t.algorithms.contains(&header.alg) {
            return Err(AuthError::InvalidToken("algorithm not accepted".into()));
        }
        let key = match &header.kid {
            Some(kid) => t.keys.iter().find(|(k, _)| k.as_deref() == Some(kid)),
            None if t.keys.len() == 1 => t.keys.first(),
            None => None,
        }
        .map(|(_, k)| k)
        .ok_or_else(|| AuthError::InvalidToken("unknown signing key".into()))?;
        let mut v = Validation::new(header.alg);
        v.leeway = 30;
        v.validate_nbf = true;
        v.set_issuer(&[&t.issuer]);
        match &t.audience {
            Some(a) => v.set_audience(&[a]),
            None => {
                let mut auds = vec![own_base];
                auds.extend(request_base);
                v.set_audience(&auds);
            }
        }
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let c = decode::<Value>(token, key, &v)
            .map_err(|e| refused(&e))?
            .claims;
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
        let scope = match &t.roles {
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
        Ok(AccessClaims {
            iss: t.issuer.clone(),
            sub: text("sub").unwrap_or_default(),
            aud: own_base.to_owned(),
            exp: c.get("exp").and_then(Value::as_i64).unwrap_or(0),
            iat: c.get("iat").and_then(Value::as_i64).unwrap_or(0),
            jti: text("jti").unwrap_or_default(),
            scope,
            client_id: text("client_id")
                .or_else(|| text("azp"))
                .unwrap_or_else(|| format!("external:{}", t.issuer)),
            tenant: tenant.as_str().to_owned(),
            patient: text("patient"),
            encounter: text("encounter"),
            fhir_user: text("fhirUser"),
            username: text("sub").map(|s| format!("{}#{s}", t.issuer)),
            grant: None,
        })
    }
}
