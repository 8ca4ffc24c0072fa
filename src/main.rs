use std::io::Write;

use clap::Parser;
use kaspersky_msp_bridge::cli::{run, Cli};

/// Rust allocations go to jemalloc: glibc's malloc, held to two arenas for memory's sake, made
/// the request threads queue on its arena locks (a tenth of the CPU under `cargo bench --bench
/// api`); jemalloc keeps per-thread caches without that lock and without the arenas' memory.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
    kaspersky_msp_bridge::adapters::telemetry::flush(std::time::Duration::from_secs(1));
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // Everything is done and dropped. `_exit` skips the C library's exit handlers: libpq's
    // OpenSSL clean-up there races with database pool threads still finishing a TLS handshake
    // and can crash the process after its work succeeded.
    // SAFETY: no Rust destructors or buffers are pending (stdio was flushed just above).
    unsafe { libc::_exit(i32::from(code)) }
}

/// What still uses glibc's malloc is C code (libpq, SQLite). glibc gives every thread that
/// allocates its own arena, up to 8 per core, and the database work runs on many blocking
/// threads: two arenas serve that C code. An explicit `MALLOC_ARENA_MAX` in the environment
/// still wins.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: called first thing in `main`, before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}
