//! `wangju` binary: install the TLS provider, parse the command line, dispatch.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    // One rustls provider for the whole process (reqwest is built without its own).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = wangju::cli::Cli::parse();
    match wangju::cli::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("wangju: {err}");
            ExitCode::FAILURE
        }
    }
}
