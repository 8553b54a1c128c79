//! Settings of SMART on FHIR authorization (issue #17): token lifetimes, the
//! clinic's roles as SMART v2 scope sets, external OpenID Connect issuers
//! trusted besides the built-in one, and the login lockout.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// The clinic's roles (README, "Roles"): the most a user of each role is
/// granted, whatever an app asks for. SMART v2 scopes
/// (https://hl7.org/fhir/smart-app-launch/STU2/scopes-and-launch-context.html).
pub const DEFAULT_ROLES: [(&str, &str); 4] = [
    // Reads and writes clinical resources, reads practitioners.
    (
        "doctor",
        "user/Patient.cruds user/Observation.cruds user/MedicationRequest.cruds user/Appointment.cruds user/Practitioner.rs",
    ),
    // Reads everything, writes Observations and Appointments.
    (
        "nurse",
        "user/*.rs user/Observation.cu user/Appointment.cu",
    ),
    // Manages Appointments and Practitioners, reads AuditEvents; no clinical content.
    (
        "administrator",
        "user/Appointment.cruds user/Practitioner.cruds user/AuditEvent.rs",
    ),
    // Their own compartment only.
    ("patient", "patient/*.rs"),
];

/// Flags of `fhirgate serve` for authorization.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AuthArgs {
    /// Seconds an access token (and an id_token) lives (default 3600).
    #[arg(long, env = "FHIRGATE_ACCESS_TOKEN_TTL_SECS")]
    pub access_token_ttl_secs: Option<u64>,
    /// Serve WITHOUT authorization: every request may do everything. Only for
    /// benchmarks comparing the cost of authorization; refused unless HTTP
    /// listens on a loopback address.
    #[arg(long, env = "FHIRGATE_INSECURE_NO_AUTH", hide = true)]
    pub insecure_no_auth: bool,
}

/// An OpenID Connect provider whose access tokens are accepted besides the
/// built-in issuer's (TOML `[[auth.external_issuers]]`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExternalIssuer {
    /// The `iss` its tokens carry.
    pub issuer: String,
    /// Its public keys as a JWKS document on disk...
    pub jwks_file: Option<PathBuf>,
    /// ...or at a URL, fetched at start-up.
    pub jwks_url: Option<String>,
    /// The `aud` its tokens must carry (default: this server's FHIR base).
    pub audience: Option<String>,
    /// Algorithms accepted (asymmetric only: RS256, RS384, RS512, PS256,
    /// PS384, PS512, ES256, ES384). Default RS256.
    #[serde(default)]
    pub algorithms: Vec<String>,
    /// The claim holding the role name, mapped to the role's scopes as a
    /// ceiling (default: none, the token's own `scope` claim is used as is).
    pub role_claim: Option<String>,
    /// The clinic (tenant slug) this issuer's tokens are for: they are
    /// accepted at that clinic's base only (issue #18).
    pub tenant: Option<String>,
    /// Or: the claim naming the clinic each token is for; a token is
    /// accepted only at the base of the clinic it names. With neither, the
    /// issuer serves the default tenant only.
    pub tenant_claim: Option<String>,
}

/// The `[auth]` table of the TOML file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthFile {
    pub access_token_ttl_secs: Option<u64>,
    pub refresh_token_ttl_secs: Option<u64>,
    pub roles: Option<BTreeMap<String, String>>,
    pub external_issuers: Option<Vec<ExternalIssuer>>,
    pub login_max_failures: Option<i32>,
    pub login_lockout_secs: Option<u64>,
    pub smart_style_url: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// Authorization codes (RFC 6749 4.1.2: "a maximum authorization code
    /// lifetime of 10 minutes is RECOMMENDED"; one minute is plenty for a redirect).
    pub code_ttl: Duration,
    pub roles: BTreeMap<String, String>,
    pub external_issuers: Vec<ExternalIssuer>,
    /// Failed logins before an account (and, four times as many, an address) is locked.
    pub login_max_failures: i32,
    pub login_lockout: Duration,
    pub smart_style_url: Option<String>,
    pub insecure_no_auth: bool,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            access_token_ttl: Duration::from_secs(3600),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            code_ttl: Duration::from_secs(60),
            roles: DEFAULT_ROLES
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            external_issuers: Vec::new(),
            login_max_failures: 5,
            login_lockout: Duration::from_secs(15 * 60),
            smart_style_url: None,
            insecure_no_auth: false,
        }
    }
}

impl AuthSettings {
    pub fn resolve(args: &AuthArgs, file: AuthFile) -> Self {
        let d = Self::default();
        let mut roles = d.roles;
        // A role named in the file replaces the default of that name; others stay.
        roles.extend(file.roles.unwrap_or_default());
        Self {
            access_token_ttl: args
                .access_token_ttl_secs
                .or(file.access_token_ttl_secs)
                .map_or(d.access_token_ttl, |s| Duration::from_secs(s.max(1))),
            refresh_token_ttl: file
                .refresh_token_ttl_secs
                .map_or(d.refresh_token_ttl, |s| Duration::from_secs(s.max(1))),
            code_ttl: d.code_ttl,
            roles,
            external_issuers: file.external_issuers.unwrap_or_default(),
            login_max_failures: file
                .login_max_failures
                .unwrap_or(d.login_max_failures)
                .max(1),
            login_lockout: file
                .login_lockout_secs
                .map_or(d.login_lockout, Duration::from_secs),
            smart_style_url: file.smart_style_url,
            insecure_no_auth: args.insecure_no_auth,
        }
    }
}
