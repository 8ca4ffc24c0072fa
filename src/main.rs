use std::io::Write;

use clap::Parser;
use kaspersky_msp_bridge::cli::{run, Cli};

fn main() {
    limit_malloc_arenas();
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

/// glibc gives every thread that allocates its own arena, up to 8 per core; the database work
/// runs on many blocking threads, and their arenas made up a fifth of the server's memory under
/// load (measured with `cargo bench --bench api`). Two arenas serve a server this size. An
/// explicit `MALLOC_ARENA_MAX` in the environment still wins.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: called first thing in `main`, before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}
