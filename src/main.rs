use std::process::ExitCode;

use clap::Parser;
use kaspersky_msp_bridge::cli::{run, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match actix_web::rt::System::new().block_on(run(cli)) {
        Ok(code) => code,
        Err(err) => {
            // One readable line with the whole cause chain.
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
