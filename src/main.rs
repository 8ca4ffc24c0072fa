use std::io::Write;

use clap::Parser;
use kaspersky_msp_bridge::cli::{run, Cli};

fn main() {
    let cli = Cli::parse();
    let code = match actix_web::rt::System::new().block_on(run(cli)) {
        Ok(code) => code,
        Err(err) => {
            // One readable line with the whole cause chain.
            eprintln!("error: {err:#}");
            1
        }
    };
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // Everything is done and dropped. `_exit` skips the C library's exit handlers: libpq's
    // OpenSSL clean-up there races with database pool threads still finishing a TLS handshake
    // and can crash the process after its work succeeded.
    // SAFETY: no Rust destructors or buffers are pending (stdio was flushed just above).
    unsafe { libc::_exit(i32::from(code)) }
}
