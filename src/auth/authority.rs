//! The built-in issuer of one tenant: signs access tokens with its active
//! key, verifies bearer tokens (its own, and those of trusted external
//! OpenID Connect issuers, auth/external.rs) and applies revocations.

use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use jsonwebtoken::{decode, decode_header, Algorithm, Header, Validation};
use serde_json::Value;

use super::external::External;
use super::key_store::load_keys;
pub use super::key_store::rotate_keys;
use super::revoked::Revoked;
use super::signing::KeySet;
use super::token::AccessClaims;
use super::verified::{Verified, VerifiedTokens};
use super::AuthError;
use crate::config::auth::AuthSettings;
use crate::crypto::MasterKey;
use crate::store::auth::revocations;
use crate::store::{Db, StoreError};
use crate::tenant::TenantId;

/// Seconds of clock skew allowed on `exp`, `nbf` and `iat` (RFC 7519 4.1.4
/// "MAY provide for some small leeway").
pub(super) const LEEWAY_SECS: u64 = 30;

/// The `typ` of this server's access tokens (RFC 9068 2.1, RFC 8725 3.11:
/// explicit typing, so that another JWT this issuer signs, an id_token, can
/// never pass for an access token).
pub const ACCESS_TYP: &str = "at+jwt";

/// What an access token is issued for.
#[derive(Debug, Clone, Default)]
pub struct TokenSpec {
    pub sub: String,
    pub client_id: String,
    pub scope: String,
    /// Default: the issuer (this server's canonical FHIR base).
    pub aud: Option<String>,
    /// Default: the configured access token lifetime.
    pub ttl: Option<std::time::Duration>,
    pub patient: Option<String>,
    pub encounter: Option<String>,
    pub fhir_user: Option<String>,
    pub username: Option<String>,
    pub grant: Option<String>,
}

pub struct Authority {
    pub tenant: TenantId,
    /// The issuer URL: this server's canonical FHIR base (SMART's `issuer`).
    pub issuer: String,
    pub settings: AuthSettings,
    db: Db,
    master: MasterKey,
    keys: RwLock<Arc<KeySet>>,
    revoked: RwLock<Revoked>,
    last_reload: Mutex<Option<Instant>>,
    external: External,
    verified: VerifiedTokens,
}

impl Authority {
    /// Loads (on first start: generates) the tenant's signing keys.
    pub async fn load(
        db: Db,
        master: MasterKey,
        tenant: TenantId,
        issuer: String,
        settings: AuthSettings,
    ) -> Result<Arc<Self>, AuthError> {
        let set = load_keys(&db, &master, tenant.as_str()).await?;
        let external = External::load(&settings.external_issuers, &settings.roles, &tenant).await?;
        let me = Arc::new(Self {
            tenant,
            issuer,
            settings,
            db,
            master,
            keys: RwLock::new(Arc::new(set)),
            revoked: RwLock::new(Revoked::default()),
            last_reload: Mutex::new(None),
            external,
            verified: VerifiedTokens::default(),
        });
        me.poll_revocations().await?;
        Ok(me)
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    fn key_set(&self) -> Arc<KeySet> {
        match self.keys.read() {
            Ok(k) => k.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// The JWKS document (RFC 7517 section 5) of the published keys.
    pub fn jwks(&self) -> Value {
        self.key_set().jwks()
    }

    /// Signs `claims` with the active key (RS256, `kid` in the header, `typ`
    /// JWT): any JWT but an access token, such as an id_token.
    pub fn sign<T: serde::Serialize>(&self, claims: &T) -> Result<String, AuthError> {
        self.sign_typed(claims, "JWT")
    }

    /// Signs access token claims (`typ` at+jwt). [`Authority::issue`] is the
    /// way to make a token; this signs claims as given (tests build refused ones).
    pub fn sign_access<T: serde::Serialize>(&self, claims: &T) -> Result<String, AuthError> {
        self.sign_typed(claims, ACCESS_TYP)
    }

    fn sign_typed<T: serde::Serialize>(&self, claims: &T, typ: &str) -> Result<String, AuthError> {
        let set = self.key_set();
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(set.active.kid.clone());
        header.typ = Some(typ.into());
        set.active.sign(&header, claims)
    }

    /// Issues an access token for `spec` (a grant of the authorization
    /// server, or an operator's `fhirgate token`).
    pub fn issue(&self, spec: TokenSpec) -> Result<(String, AccessClaims), AuthError> {
        let now = chrono::Utc::now().timestamp();
        let ttl = spec.ttl.unwrap_or(self.settings.access_token_ttl).as_secs();
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            sub: spec.sub,
            aud: spec.aud.unwrap_or_else(|| self.issuer.clone()),
            exp: now + i64::try_from(ttl).unwrap_or(3600),
            iat: now,
            jti: uuid::Uuid::new_v4().simple().to_string(),
            scope: spec.scope,
            client_id: spec.client_id,
            tenant: self.tenant.as_str().to_owned(),
            patient: spec.patient,
            encounter: spec.encounter,
            fhir_user: spec.fhir_user,
            username: spec.username,
            grant: spec.grant,
        };
        Ok((self.sign_access(&claims)?, claims))
    }

    /// Makes a new active key; the old one stays published until every token
    /// it signed has expired (`fhirgate keys rotate-signing`).
    pub async fn rotate(&self) -> Result<String, AuthError> {
        let kid = rotate_keys(&self.db, &self.master, self.tenant.as_str(), &self.settings).await?;
        self.reload().await?;
        Ok(kid)
    }

    async fn reload(&self) -> Result<(), AuthError> {
        let set = load_keys(&self.db, &self.master, self.tenant.as_str()).await?;
        if let Ok(mut k) = self.keys.write() {
            *k = Arc::new(set);
        }
        Ok(())
    }

    /// Reloads the keys when a token names one this process does not know
    /// (rotated by another process), at most once every five seconds.
    async fn reload_for_unknown_kid(&self) -> Result<(), AuthError> {
        let due = match self.last_reload.lock() {
            Ok(mut last) => {
                let due = last.is_none_or(|t| t.elapsed().as_secs() >= 5);
                if due {
                    *last = Some(Instant::now());
                }
                due
            }
            Err(_) => false,
        };
        if due {
            self.reload().await?;
        }
        Ok(())
    }

    /// Verifies a bearer token for a request to `request_base` (the FHIR base
    /// the request reached): signature by a published key of this issuer or
    /// a trusted external one, `alg` as that key allows (never `none` or
    /// HMAC), `iss`, `aud`, `exp`, `nbf`, and not revoked. A token of this
    /// issuer seen before skips the signature check (auth/verified.rs).
    pub async fn verify(
        &self,
        token: &str,
        request_base: Option<&str>,
    ) -> Result<AccessClaims, AuthError> {
        if let Some(v) = self.verified.get(token) {
            if self.still_valid(&v, request_base) {
                self.check_revoked(&v.claims)?;
                return Ok(v.claims);
            }
            // Expired, another audience, or its key withdrawn: the full
            // verification below gives the answer (and its error).
            self.verified.forget(token);
        }
        let header =
            decode_header(token).map_err(|_| AuthError::InvalidToken("malformed".into()))?;
        super::jwk::acceptable_header(&header)
            .map_err(|m| AuthError::InvalidToken(m.to_owned()))?;
        let iss = unverified_issuer(token)?;
        if iss != self.issuer {
            let claims = self
                .external
                .verify(
                    token,
                    &header,
                    &iss,
                    request_base,
                    &self.issuer,
                    &self.tenant,
                )
                .await?;
            self.check_revoked(&claims)?;
            return Ok(claims);
        }
        if header.alg != Algorithm::RS256 {
            return Err(AuthError::InvalidToken(format!(
                "algorithm {:?} is not accepted from this issuer",
                header.alg
            )));
        }
        // RFC 9068 2.1: "application/at+jwt" or its short form.
        let typ = header.typ.as_deref().unwrap_or("");
        let typ = typ.strip_prefix("application/").unwrap_or(typ);
        if !typ.eq_ignore_ascii_case(ACCESS_TYP) {
            return Err(AuthError::InvalidToken("not an access token (typ)".into()));
        }
        let kid = header
            .kid
            .ok_or_else(|| AuthError::InvalidToken("no kid".into()))?;
        let now = chrono::Utc::now().timestamp();
        if self.key_set().verifying_key(&kid).is_none() {
            self.reload_for_unknown_kid().await?;
        }
        let set = self.key_set();
        let key = set
            .verifying_key(&kid)
            .ok_or_else(|| AuthError::InvalidToken("unknown signing key".into()))?;
        let mut v = Validation::new(Algorithm::RS256);
        v.leeway = LEEWAY_SECS;
        v.validate_nbf = true;
        v.set_issuer(&[&self.issuer]);
        let mut auds = vec![self.issuer.as_str()];
        if let Some(b) = request_base {
            auds.push(b);
        }
        v.set_audience(&auds);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = decode::<AccessClaims>(token, key, &v).map_err(|e| refused(&e))?;
        let c = data.claims;
        if c.tenant != self.tenant.as_str() {
            return Err(AuthError::InvalidToken("issued for another tenant".into()));
        }
        self.check_revoked(&c)?;
        let leeway = i64::try_from(LEEWAY_SECS).unwrap_or(30);
        self.verified.insert(
            token,
            Verified {
                claims: c.clone(),
                kid,
            },
            now - leeway,
        );
        Ok(c)
    }

    /// Verifies a token of this issuer only (introspection answers for the
    /// tokens this server issued, RFC 7662 2.2).
    pub async fn verify_issued(
        &self,
        token: &str,
        request_base: Option<&str>,
    ) -> Result<AccessClaims, AuthError> {
        if unverified_issuer(token)? != self.issuer {
            return Err(AuthError::InvalidToken("issued by another issuer".into()));
        }
        self.verify(token, request_base).await
    }

    /// What the full verification checks that can change after a token
    /// passed it once: `exp` (as jsonwebtoken: refused once `exp` is
    /// before now less the leeway), `aud` against this request's base, and
    /// that the signing key is still published. Signature, `alg`, `iss` and
    /// tenant are properties of the token's bytes, which are the same.
    fn still_valid(&self, v: &Verified, request_base: Option<&str>) -> bool {
        let now = chrono::Utc::now().timestamp();
        let leeway = i64::try_from(LEEWAY_SECS).unwrap_or(30);
        let c = &v.claims;
        c.exp >= now - leeway
            && (c.aud == self.issuer || request_base == Some(c.aud.as_str()))
            && self.key_set().verifying_key(&v.kid).is_some()
    }

    fn check_revoked(&self, c: &AccessClaims) -> Result<(), AuthError> {
        let revoked = self.is_revoked(
            Some(&c.jti),
            &c.client_id,
            c.username.as_deref(),
            c.grant.as_deref(),
        )?;
        if revoked {
            return Err(AuthError::InvalidToken("revoked".into()));
        }
        Ok(())
    }

    /// Whether a token (`jti`), its grant, its client or its user was revoked
    /// or disabled, as far as this process has heard.
    pub fn is_revoked(
        &self,
        jti: Option<&str>,
        client_id: &str,
        username: Option<&str>,
        grant: Option<&str>,
    ) -> Result<bool, AuthError> {
        let Ok(r) = self.revoked.read() else {
            return Err(AuthError::Internal("revocation list unavailable".into()));
        };
        let t = self.tenant.as_str();
        Ok(jti.is_some_and(|j| r.is(t, "jti", j))
            || grant.is_some_and(|g| r.is(t, "grant", g))
            || r.is(t, "client", client_id)
            || username.is_some_and(|u| r.is(t, "user", u)))
    }

    /// Whether the token's grant, client and user are still in force (for
    /// introspection, which must say `active: false` otherwise).
    pub fn in_force(&self, c: &AccessClaims) -> bool {
        self.check_revoked(c).is_ok()
    }

    /// Records a revocation for every process and applies it here at once.
    pub async fn revoke(&self, kind: &'static str, value: String) -> Result<(), AuthError> {
        let tenant = self.tenant.as_str().to_owned();
        let v = value.clone();
        self.db
            .run(move |conn| revocations::insert(conn, &tenant, kind, &v))
            .await
            .map_err(|e: StoreError| AuthError::internal(e))?;
        self.note_revoked(kind, &value);
        Ok(())
    }

    /// Applies a revocation already stored (in the caller's transaction).
    pub fn note_revoked(&self, kind: &str, value: &str) {
        if let Ok(mut r) = self.revoked.write() {
            r.note(self.tenant.as_str(), kind, value);
        }
    }

    /// Brings the revocations up to date (fhir/tenancy.rs polls every
    /// site's when any tenant's revocations moved).
    pub async fn poll_revocations(&self) -> Result<(), AuthError> {
        let after = self.revoked.read().map(|r| r.last_seq()).unwrap_or(0);
        let rows = self
            .db
            .run(move |conn| revocations::since(conn, after))
            .await
            .map_err(|e: StoreError| AuthError::internal(e))?;
        if !rows.is_empty() {
            if let Ok(mut r) = self.revoked.write() {
                r.apply(rows);
            }
        }
        Ok(())
    }
}

/// The `iss` claim, read before verification only to choose the keys to
/// verify with (the verification then checks it again).
fn unverified_issuer(token: &str) -> Result<String, AuthError> {
    let data = jsonwebtoken::dangerous::insecure_decode::<Value>(token)
        .map_err(|_| AuthError::InvalidToken("malformed".into()))?;
    data.claims
        .get("iss")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| AuthError::InvalidToken("no iss".into()))
}

pub(super) fn refused(e: &jsonwebtoken::errors::Error) -> AuthError {
    AuthError::InvalidToken(refusal(e).into())
}

/// Why jsonwebtoken refused a JWT, in words that carry nothing of the token.
pub(super) fn refusal(e: &jsonwebtoken::errors::Error) -> &'static str {
    use jsonwebtoken::errors::ErrorKind as K;
    match e.kind() {
        K::ExpiredSignature => "expired",
        K::ImmatureSignature => "not yet valid (nbf)",
        K::InvalidAudience => "wrong audience",
        K::InvalidIssuer => "wrong issuer",
        K::InvalidSubject => "wrong subject",
        K::InvalidSignature => "bad signature",
        K::InvalidAlgorithm => "algorithm not accepted",
        K::MissingRequiredClaim(_) => "a required claim is missing",
        _ => "not a valid token",
    }
}
