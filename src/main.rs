#![forbid(unsafe_code)]

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = fhirgate::cli::Cli::parse();
    match fhirgate::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            // Start-up and command failures only; request paths never reach here.
            eprintln!("fhirgate: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
