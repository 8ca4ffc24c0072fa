use std::process::ExitCode;

use clap::Parser;
use kaspersky_msp_bridge::cli::{run, Cli};

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = Cli::parse();
    match actix_web::rt::System::new().block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One readable line with the whole cause chain.
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
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
