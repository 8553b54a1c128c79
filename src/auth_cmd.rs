//! `fhirgate users`, `fhirgate clients`, `fhirgate token` and
//! `fhirgate keys rotate-signing`: administration of the built-in
//! authorization server from the command line (issue #17).

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::Value;

use crate::auth::scopes::Scopes;
use crate::auth::{password, Authority, TokenSpec};
use crate::config::Settings;
use crate::crypto::MasterKey;
use crate::store::auth::{clients, users};
use crate::store::Db;

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add a user; the password is read from standard input (one line).
    Add(UserAdd),
    /// List the users (never their passwords).
    List,
    /// Disable a user: no more logins, and their tokens stop working.
    Disable { username: String },
}

#[derive(Debug, Args)]
pub struct UserAdd {
    pub username: String,
    /// The user's role: doctor, nurse, administrator, patient, or one
    /// defined in the settings file (`[auth.roles]`).
    #[arg(long)]
    pub role: String,
    /// The user's FHIR resource (`Practitioner/ID` or `Patient/ID`): the
    /// `fhirUser` of their id_tokens, and a patient user's own record.
    #[arg(long)]
    pub fhir_user: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ClientsCommand {
    /// Register an OAuth client. A confidential client's secret is generated
    /// and printed once.
    Add(ClientAdd),
    /// List the clients.
    List,
    /// Disable a client: its tokens stop working, and it gets no more.
    Disable { client_id: String },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ClientKind {
    /// A browser or native app: authorization code with PKCE, no secret.
    Public,
    /// A server-side app: authorization code with PKCE and a client secret.
    Confidential,
    /// A backend service: client_credentials with private_key_jwt.
    Backend,
}

#[derive(Debug, Args)]
pub struct ClientAdd {
    pub client_id: String,
    #[arg(long, value_enum)]
    pub kind: ClientKind,
    /// A display name for the consent page (default: the client id).
    #[arg(long)]
    pub name: Option<String>,
    /// Registered redirect URI (repeat for several); matched exactly.
    #[arg(long = "redirect-uri")]
    pub redirect_uris: Vec<String>,
    /// A backend client's public keys: a JWKS file (RS384 or ES384 keys, each with a kid).
    #[arg(long)]
    pub jwks: Option<PathBuf>,
    /// The most the client may be granted (SMART scopes, space-separated).
    #[arg(long)]
    pub scopes: String,
}

/// Where `serve` answers, as given to it: a clinic's FHIR base (the issuer
/// and audience of its tokens) is made of these.
#[derive(Debug, Clone, Default, Args)]
pub struct BaseArgs {
    /// The gateway's HTTP address, as given to `serve` (the token's issuer
    /// and audience are the FHIR base there).
    #[arg(long, env = "FHIRGATE_HTTP_ADDR")]
    pub http_addr: Option<std::net::SocketAddr>,
    /// The gateway's public base URL, as given to `serve`.
    #[arg(long, env = "FHIRGATE_BASE_URL")]
    pub base_url: Option<String>,
    /// Whether `serve` runs HTTPS (its `--tls-cert`): the base is https.
    #[arg(long, env = "FHIRGATE_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
}

impl BaseArgs {
    /// `settings` with these in place of serve's defaults.
    pub fn apply(&self, settings: &mut Settings) {
        if let Some(addr) = self.http_addr {
            settings.http_addr = addr;
        }
        if self.base_url.is_some() {
            settings.base_url = self.base_url.clone();
        }
        if let Some(cert) = &self.tls_cert {
            settings.tls = Some((cert.clone(), cert.clone()));
        }
    }
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// SMART scopes of the token, e.g. "system/*.cruds" or "system/Patient.rs".
    #[arg(long)]
    pub scope: String,
    /// Lifetime in seconds (default 300).
    #[arg(long, default_value_t = 300)]
    pub ttl: u64,
    /// The client id the token names (default fhirgate-cli).
    #[arg(long, default_value = "fhirgate-cli")]
    pub client_id: String,
    /// A launch patient, for `patient/` scopes.
    #[arg(long)]
    pub patient: Option<String>,
    #[command(flatten)]
    pub server: BaseArgs,
}

#[derive(Debug, Args)]
pub struct LaunchArgs {
    /// The patient the app is launched for (a Patient id).
    #[arg(long)]
    pub patient: String,
    /// An encounter id to pass along (optional).
    #[arg(long)]
    pub encounter: Option<String>,
}

async fn open(settings: &Settings) -> anyhow::Result<(Db, MasterKey)> {
    let master =
        MasterKey::load_or_generate(settings.master_key_file.as_deref(), &settings.data_dir)?;
    let db = crate::store::bootstrap::open(settings).await?;
    db.migrate(Arc::new(crate::crypto::Keyring::new(master.clone())))
        .await?;
    let db = crate::runtime::command_db(&db, settings).await?;
    Ok((db, master))
}

async fn authority(
    settings: &Settings,
    db: &Db,
    master: MasterKey,
) -> anyhow::Result<Arc<Authority>> {
    Ok(Authority::load(
        db.clone(),
        master,
        settings.tenant.clone(),
        crate::runtime::issuer(settings, settings.http_addr, &settings.tenant),
        settings.auth.clone(),
    )
    .await?)
}

/// `fhirgate token`: prints a short-lived access token signed by the
/// server's key, for scripts and operators (the `Authorization: Bearer`
/// value). Its issuer and audience are the FHIR base of `serve` with the same
/// settings (`--base-url`, else the HTTP address).
pub async fn token(settings: Settings, args: TokenArgs) -> anyhow::Result<()> {
    let scopes = Scopes::parse(&args.scope);
    if scopes.resource_scopes().next().is_none() {
        anyhow::bail!("--scope names no SMART resource scope (e.g. system/*.cruds)");
    }
    let mut settings = settings;
    args.server.apply(&mut settings);
    let (db, master) = open(&settings).await?;
    let a = authority(&settings, &db, master).await?;
    let (token, _) = a.issue(TokenSpec {
        sub: args.client_id.clone(),
        client_id: args.client_id,
        scope: scopes.to_string(),
        ttl: Some(std::time::Duration::from_secs(args.ttl.max(1))),
        patient: args.patient,
        ..Default::default()
    })?;
    println!("{token}");
    db.shutdown().await;
    Ok(())
}

/// `fhirgate launch`: prints an EHR launch id (SMART app-launch.html
/// #launch-app-ehr-launch), valid five minutes, for an app's launch URL
/// (`?iss=[base]&launch=ID`); the same as `POST [base]/$smart-launch`.
pub async fn launch(settings: Settings, args: LaunchArgs) -> anyhow::Result<()> {
    let valid = |id: &str| crate::model::ResourceId::parse(id).is_some();
    if !valid(&args.patient) || args.encounter.as_deref().is_some_and(|e| !valid(e)) {
        anyhow::bail!("--patient and --encounter take FHIR ids");
    }
    let (db, _) = open(&settings).await?;
    let tenant = settings.tenant.as_str().to_owned();
    let id = crate::oauth::launch::new_id()?;
    let expires = chrono::Utc::now() + chrono::Duration::seconds(crate::oauth::launch::TTL_SECS);
    let l = id.clone();
    db.run(move |conn| {
        crate::store::auth::grants::insert_launch(
            conn,
            &tenant,
            &l,
            &args.patient,
            args.encounter.as_deref(),
            "fhirgate-cli",
            expires,
        )
    })
    .await?;
    println!("{id}");
    db.shutdown().await;
    Ok(())
}

/// `fhirgate keys rotate-signing`.
pub async fn rotate_signing(settings: Settings) -> anyhow::Result<()> {
    let (db, master) = open(&settings).await?;
    let kid =
        crate::auth::authority::rotate_keys(&db, &master, settings.tenant.as_str(), &settings.auth)
            .await?;
    println!("new signing key {kid}; the previous one stays published until its tokens expire");
    db.shutdown().await;
    Ok(())
}

pub async fn users(settings: Settings, command: UsersCommand) -> anyhow::Result<()> {
    let (db, _) = open(&settings).await?;
    let tenant = settings.tenant.as_str().to_owned();
    match command {
        UsersCommand::Add(a) => {
            if !settings.auth.roles.contains_key(&a.role) {
                anyhow::bail!(
                    "unknown role {:?}; roles: {}",
                    a.role,
                    settings
                        .auth
                        .roles
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            if let Some(f) = &a.fhir_user {
                let ok = f.split_once('/').is_some_and(|(t, id)| {
                    matches!(t, "Practitioner" | "Patient")
                        && crate::model::ResourceId::parse(id).is_some()
                });
                if !ok {
                    anyhow::bail!("--fhir-user must be Practitioner/ID or Patient/ID");
                }
            }
            if a.role == "patient"
                && !a
                    .fhir_user
                    .as_deref()
                    .is_some_and(|f| f.starts_with("Patient/"))
            {
                anyhow::bail!("a patient user needs --fhir-user Patient/ID (their own record)");
            }
            let mut line = String::new();
            std::io::stdin().read_to_string(&mut line)?;
            let pw = line.lines().next().unwrap_or("").to_owned();
            if pw.chars().count() < 8 {
                anyhow::bail!(
                    "the password (read from standard input) must have at least 8 characters"
                );
            }
            let row = users::UserRow {
                username: a.username.clone(),
                password_hash: password::hash(&pw)?,
                role: a.role,
                fhir_user: a.fhir_user,
                disabled: false,
                failed_logins: 0,
                locked_until: None,
            };
            db.run(move |conn| users::insert(conn, &tenant, &row))
                .await
                .context("adding the user (does it exist already?)")?;
            println!("user {} added", a.username);
        }
        UsersCommand::List => {
            let rows = db.run(move |conn| users::list(conn, &tenant)).await?;
            for u in rows {
                println!(
                    "{}\t{}\t{}\t{}",
                    u.username,
                    u.role,
                    u.fhir_user.as_deref().unwrap_or("-"),
                    if u.disabled { "disabled" } else { "active" }
                );
            }
        }
        UsersCommand::Disable { username } => {
            let name = username.clone();
            if !db
                .run(move |conn| users::disable(conn, &tenant, &name))
                .await?
            {
                anyhow::bail!("no user {username}");
            }
            println!("user {username} disabled");
        }
    }
    db.shutdown().await;
    Ok(())
}

pub async fn clients(settings: Settings, command: ClientsCommand) -> anyhow::Result<()> {
    let (db, _) = open(&settings).await?;
    let tenant = settings.tenant.as_str().to_owned();
    match command {
        ClientsCommand::Add(a) => {
            let (row, secret) = client_row(a)?;
            let id = row.client_id.clone();
            db.run(move |conn| clients::insert(conn, &tenant, &row))
                .await
                .context("adding the client (does it exist already?)")?;
            println!("client {id} added");
            if let Some(s) = secret {
                println!("client secret (shown once): {s}");
            }
        }
        ClientsCommand::List => {
            let rows = db.run(move |conn| clients::list(conn, &tenant)).await?;
            for c in rows {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    c.client_id,
                    c.kind,
                    c.redirect_uris.join(","),
                    c.scopes,
                    if c.disabled { "disabled" } else { "active" }
                );
            }
        }
        ClientsCommand::Disable { client_id } => {
            let id = client_id.clone();
            if !db
                .run(move |conn| clients::disable(conn, &tenant, &id))
                .await?
            {
                anyhow::bail!("no client {client_id}");
            }
            println!("client {client_id} disabled");
        }
    }
    db.shutdown().await;
    Ok(())
}

/// The row of a new client, and its secret when one is generated.
pub fn client_row(a: ClientAdd) -> anyhow::Result<(clients::ClientRow, Option<String>)> {
    let scopes = Scopes::parse(&a.scopes);
    let kind = match a.kind {
        ClientKind::Public => "public",
        ClientKind::Confidential => "confidential",
        ClientKind::Backend => "backend",
    };
    let jwks = match (&a.kind, &a.jwks) {
        (ClientKind::Backend, Some(f)) => {
            let text =
                std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
            let v: Value = serde_json::from_str(&text).context("the JWKS file is not JSON")?;
            crate::auth::client_keys::check_jwks(&v)?;
            Some(v)
        }
        (ClientKind::Backend, None) => anyhow::bail!("a backend client needs --jwks FILE"),
        (_, Some(_)) => anyhow::bail!("--jwks is for backend clients"),
        (_, None) => None,
    };
    if !matches!(a.kind, ClientKind::Backend) && a.redirect_uris.is_empty() {
        anyhow::bail!("an app needs at least one --redirect-uri");
    }
    let secret = matches!(a.kind, ClientKind::Confidential).then(|| {
        let mut b = [0u8; 32];
        let _ = openssl::rand::rand_bytes(&mut b);
        hex::encode(b)
    });
    let secret_hash = match &secret {
        Some(s) => Some(password::hash(s)?),
        None => None,
    };
    Ok((
        clients::ClientRow {
            name: a.name.unwrap_or_else(|| a.client_id.clone()),
            client_id: a.client_id,
            kind: kind.into(),
            secret_hash,
            redirect_uris: a.redirect_uris,
            jwks,
            scopes: scopes.to_string(),
            disabled: false,
        },
        secret,
    ))
}
