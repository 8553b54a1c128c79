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
    Serve(ServeArgs),
    /// Apply the embedded database migrations and exit.
    Migrate,
    /// Data-key management.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
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
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    let serve_args = match &cli.command {
        Command::Serve(args) => args.clone(),
        _ => ServeArgs::default(),
    };
    let settings = Settings::resolve(&cli.common, &serve_args)?;
    crate::telemetry::init(settings.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Serve(_) => runtime.block_on(crate::startup::serve(settings)),
        Command::Migrate => runtime.block_on(async move {
            let db = crate::store::bootstrap::open(&settings).await?;
            db.migrate().await?;
            tracing::info!("migrations applied");
            db.shutdown().await;
            Ok(())
        }),
        Command::Keys { command } => runtime.block_on(crate::keys_cmd::run(settings, command)),
    }
}
