#![forbid(unsafe_code)]

use clap::Parser;

/// mimalloc instead of glibc's malloc: under HL7 load, malloc, free and their
/// consolidation were over a third of the gateway's CPU (many short-lived
/// JSON values and strings per resource, freed on other threads than they
/// were made on; docs/performance.md, session 5).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
