//! The `fhirgate` command line. anyhow is fine here: these are not request paths.

use clap::{Parser, Subcommand};

use crate::config::{CommonArgs, ServeArgs, Settings};

#[derive(Debug, Parser)]
#[command(name = "fhirgate", version, about = "FHIR R4 interoperability gateway")]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the FHIR R4 HTTP API (default 127.0.0.1:8080, base /fhir).
    Serve(Box<ServeArgs>),
    /// Apply the embedded database migrations and exit.
    Migrate,
    /// Load Bundles and NDJSON files (e.g. Synthea output) into a running gateway
    /// (--url) or straight into the database; prints a summary of what was stored
    /// and what was refused, and why. Exit code 1 when something failed hard.
    Import(crate::import::ImportArgs),
    /// The clinics (tenants) this gateway serves, each at `/t/{slug}/fhir`.
    Tenants {
        #[command(subcommand)]
        command: crate::tenants_cmd::TenantsCommand,
    },
    /// Data-key management.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// HL7 v2: send messages over MLLP, or re-apply stored ones.
    Hl7 {
        #[command(subcommand)]
        command: Hl7Command,
    },
    /// Users of the built-in authorization server (SMART on FHIR logins).
    Users {
        #[command(subcommand)]
        command: crate::auth_cmd::UsersCommand,
    },
    /// OAuth clients of the built-in authorization server (SMART apps, backend services).
    Clients {
        #[command(subcommand)]
        command: crate::auth_cmd::ClientsCommand,
    },
    /// Print a short-lived access token signed by the server's key (for
    /// scripts and operators: `curl -H "Authorization: Bearer $(fhirgate token --scope system/*.rs)"`).
    Token(crate::auth_cmd::TokenArgs),
    /// Start a SMART EHR launch: prints a launch id (valid five minutes) for
    /// an app's launch URL (`?iss=<FHIR base>&launch=<id>`).
    Launch(crate::auth_cmd::LaunchArgs),
}

#[derive(Debug, Subcommand)]
pub enum Hl7Command {
    /// Send HL7 v2 files (one or many messages, or batches) over MLLP and print each ACK.
    Send(crate::hl7::send::SendArgs),
    /// Re-apply the stored raw messages, in the order received (idempotent: every
    /// resource is keyed by identifier and conditionally updated).
    Replay(crate::hl7::replay::ReplayArgs),
    /// List the messages no clinic claimed (kept under the server-level scope,
    /// answered AR): id, time, sender, control id, type and why; no PHI.
    Unrouted(crate::hl7::unrouted::UnroutedArgs),
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a new data key active for new writes, then re-encrypt everything stored
    /// under older keys (reads keep working throughout).
    Rotate {
        /// Rows re-encrypted per transaction.
        #[arg(long, default_value_t = 500)]
        batch: i64,
    },
    /// Show the data keys and how many rows each encrypts.
    Status,
    /// Make a new token signing key active; the old one stays published (JWKS)
    /// until the tokens it signed have expired.
    RotateSigning,
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    let serve_args = match &cli.command {
        Command::Serve(args) => (**args).clone(),
        _ => ServeArgs::default(),
    };
    // Before the settings: their default connection caps derive from the limit.
    let nofile = matches!(cli.command, Command::Serve(_)).then(crate::limits::fd::raise_nofile);
    let settings = Settings::resolve(&cli.common, &serve_args)?;
    // The import's own output is its progress and summary; its log says only what goes wrong.
    let default_level = match cli.command {
        // Their output is what they print (a token goes to a pipe).
        Command::Import(_)
        | Command::Token(_)
        | Command::Launch(_)
        | Command::Users { .. }
        | Command::Tenants { .. }
        | Command::Hl7 {
            command: Hl7Command::Unrouted(_),
        }
        | Command::Clients { .. } => "warn",
        _ => "info",
    };
    crate::telemetry::init_with_default(settings.log_format, default_level);
    match nofile {
        Some(Ok(n)) => tracing::info!(
            soft = n.soft,
            hard = n.hard,
            was = n.before,
            "file descriptor limit (RLIMIT_NOFILE)"
        ),
        Some(Err(e)) => tracing::warn!(error = %e, "could not raise the file descriptor limit"),
        None => {}
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Serve(_) => runtime.block_on(crate::startup::serve(settings)),
        Command::Migrate => runtime.block_on(async move {
            // The master key converts what SQL cannot (readable index text to
            // blind indexes, migration 000011).
            let master = crate::crypto::MasterKey::load_or_generate(
                settings.master_key_file.as_deref(),
                &settings.data_dir,
            )?;
            let db = crate::store::bootstrap::open(&settings).await?;
            db.migrate(std::sync::Arc::new(crate::crypto::Keyring::new(master)))
                .await?;
            crate::runtime::ensure_serving_role(&db, &settings).await?;
            tracing::info!(role = %settings.db_serving.role, "migrations applied; serving role ready");
            db.shutdown().await;
            Ok(())
        }),
        Command::Import(args) => runtime.block_on(async move {
            let summary = crate::import::run(settings, args).await?;
            summary.print(&mut std::io::stdout().lock())?;
            if summary.failed_hard() {
                anyhow::bail!("the import failed for some input (see the summary)")
            }
            Ok(())
        }),
        Command::Keys {
            command: KeysCommand::RotateSigning,
        } => runtime.block_on(crate::auth_cmd::rotate_signing(settings)),
        Command::Keys { command } => runtime.block_on(crate::keys_cmd::run(settings, command)),
        Command::Users { command } => runtime.block_on(crate::auth_cmd::users(settings, command)),
        Command::Tenants { command } => {
            runtime.block_on(crate::tenants_cmd::run(settings, command))
        }
        Command::Clients { command } => {
            runtime.block_on(crate::auth_cmd::clients(settings, command))
        }
        Command::Token(args) => runtime.block_on(crate::auth_cmd::token(settings, args)),
        Command::Launch(args) => runtime.block_on(crate::auth_cmd::launch(settings, args)),
        Command::Hl7 {
            command: Hl7Command::Send(args),
        } => runtime.block_on(crate::hl7::send::run(args)),
        Command::Hl7 {
            command: Hl7Command::Replay(args),
        } => runtime.block_on(crate::hl7::replay::command(settings, args)),
        Command::Hl7 {
            command: Hl7Command::Unrouted(args),
        } => runtime.block_on(crate::hl7::unrouted::command(settings, args)),
    }
}
