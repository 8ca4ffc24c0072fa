//! The command line: `serve` (default), `sandbox`, `sync`, `migrate`, `backup`, `healthcheck`,
//! `openapi`, `completions`, `user …`.

mod backup;
mod healthcheck;
pub mod sandbox;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::adapters::config::{variables_help, Overrides, Settings};
use crate::adapters::db::audit::Actor;
use crate::cli::sandbox::demo::Sandbox;
use crate::runtime::auth::{password, Role};
use crate::sync::foreground;
use crate::web::startup::{AdminBootstrap, Application};

/// `0.1.0 (commit 1a2b3c4)`: the commit comes from build.rs.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("BRIDGE_GIT_COMMIT"),
    ")"
);

#[derive(Parser)]
#[command(
    name = "kaspersky-msp-bridge",
    version = VERSION,
    about = "Kaspersky usage → ConnectWise Manage agreement additions",
    after_help = "Without a command: serve. `kaspersky-msp-bridge <command> --help` tells each \
        command's options and the environment variables they read."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Start the API server (the default).
    #[command(after_help = variables_help())]
    Serve(ServeArgs),
    /// Start the API server against a fake ConnectWise and a fake KSC with demo data.
    ///
    /// To try everything locally: data in ./data-sandbox unless --data-dir or --database-url
    /// say otherwise.
    #[command(after_help = variables_help())]
    Sandbox(SandboxArgs),
    /// Run one sync in the foreground and print its changes.
    ///
    /// Exit code 0: succeeded; 1: held (lines wait for approval) or partial (a tenant not
    /// billed, a line not applied); 2: failed or could not start (another run is going).
    #[command(after_help = variables_help())]
    Sync {
        /// Plan and record the run, write nothing to ConnectWise.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Apply pending database migrations and exit.
    #[command(after_help = variables_help())]
    Migrate(DatabaseArgs),
    /// Copy the SQLite database into a new file while the server keeps running.
    ///
    /// The copy is consistent as of one moment. Keep the encryption key (the data directory's
    /// encryption.key, or BRIDGE_ENCRYPTION_KEY) with it. Restore: stop the server, put the
    /// copy in place of the database file, delete the database's -wal and -shm files, start
    /// the server. For PostgreSQL use pg_dump and pg_restore (the command says how).
    #[command(after_help = variables_help())]
    Backup {
        /// The new file to write (must not exist yet).
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Ask the running server whether it is alive (for a container's HEALTHCHECK).
    ///
    /// GET /healthz on loopback when the server listens on every address (0.0.0.0, [::]), else
    /// on its bind address. Exit code 0: healthy; 1: not.
    Healthcheck {
        /// Where the server listens [default: 127.0.0.1:8080]
        #[arg(long, env = "BRIDGE_BIND", value_name = "ADDRESS:PORT")]
        bind: Option<String>,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Print a shell completion script.
    ///
    /// E.g. `kaspersky-msp-bridge completions bash > /etc/bash_completion.d/kaspersky-msp-bridge`.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Manage accounts directly in the database (for recovery).
    #[command(after_help = variables_help())]
    User {
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(subcommand)]
        command: UserCommand,
    },
}

/// Where the data lives; a flag beats its environment variable.
#[derive(Args, Clone, Default)]
pub struct DatabaseArgs {
    /// Directory of the SQLite database, the key file and the initial admin password
    /// [default: ./data]
    #[arg(long, global = true, env = "BRIDGE_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// postgres://user:pass@host:5432/db or sqlite://path (also DATABASE_URL_FILE)
    /// [default: sqlite://<data dir>/bridge.db]
    #[arg(
        long,
        global = true,
        env = "DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
}

#[derive(Args, Clone, Default)]
pub struct ServeArgs {
    /// Address and port to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "BRIDGE_BIND", value_name = "ADDRESS:PORT")]
    pub bind: Option<String>,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

impl DatabaseArgs {
    fn overrides(&self) -> Overrides {
        Overrides {
            bind: None,
            data_dir: self.data_dir.clone().filter(|d| !d.as_os_str().is_empty()),
            database_url: given(&self.database_url),
        }
    }
}

#[derive(Args, Default)]
pub struct SandboxArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Also fill the fake catalog with this many generated products (PG-00001, PG-00002, …), to
    /// try the console with a large catalog
    #[arg(
        long,
        env = "BRIDGE_SANDBOX_EXTRA_PRODUCTS",
        default_value_t = 0,
        value_name = "N"
    )]
    pub extra_products: u32,
}

impl ServeArgs {
    fn overrides(&self) -> Overrides {
        Overrides {
            bind: given(&self.bind),
            ..self.database.overrides()
        }
    }
}

/// An empty value (`BRIDGE_BIND=`) is no value, as for the other variables.
fn given(value: &Option<String>) -> Option<String> {
    value.clone().filter(|v| !v.trim().is_empty())
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create an account; the password is generated and printed unless given.
    Create {
        /// The account's name: 1 to 64 letters, digits, `.`, `_`, `@` or `-` (stored in lower case).
        #[arg(long)]
        username: String,
        /// What the account may do.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// The password (prefer the environment variable: the command line is visible to others).
        #[arg(long, env = "BRIDGE_NEW_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Set a new password; generated and printed unless given.
    ResetPassword {
        /// The account whose password to set.
        #[arg(long)]
        username: String,
        /// The new password (prefer the environment variable: the command line is visible to
        /// others).
        #[arg(long, env = "BRIDGE_NEW_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum RoleArg {
    /// Reads everything but users, service tokens and connections.
    Viewer,
    /// Also mappings, settings, tenants, usage, sync previews, runs and approvals.
    Operator,
    /// Also users, service tokens, connections and the audit of everything.
    Admin,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Viewer => Role::Viewer,
            RoleArg::Operator => Role::Operator,
            RoleArg::Admin => Role::Admin,
        }
    }
}

/// Runs a command; the process exit code on success (0, or the sync command's outcome).
pub async fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli
        .command
        .unwrap_or_else(|| Command::Serve(ServeArgs::default()))
    {
        Command::Openapi => {
            print!("{}", crate::web::openapi::spec_json());
        }
        Command::Completions { shell } => {
            let mut command = Cli::command();
            let name = command.get_name().to_string();
            clap_complete::generate(shell, &mut command, name, &mut std::io::stdout());
        }
        Command::Serve(args) => serve(settings(&args.overrides())?, None).await?,
        Command::Sandbox(args) => {
            let settings = Settings::from_env_with(
                &args.serve.overrides(),
                &[("BRIDGE_DATA_DIR", "data-sandbox")],
            )
            .map_err(anyhow::Error::msg)?;
            crate::adapters::telemetry::init(settings.log_format);
            let sandbox = Sandbox::start_with(args.extra_products)
                .context("cannot start the fake servers")?;
            serve(settings, Some(sandbox)).await?
        }
        Command::Sync { dry_run, database } => {
            return sync(settings(&database.overrides())?, dry_run).await
        }
        Command::Migrate(database) => {
            let settings = settings(&database.overrides())?;
            crate::web::startup::connect_database(&settings).await?;
            println!("database is up to date");
        }
        Command::Backup { to, database } => {
            backup::run(&settings(&database.overrides())?, &to).await?
        }
        Command::Healthcheck { bind } => {
            let overrides = Overrides {
                bind: given(&bind),
                ..Overrides::default()
            };
            let settings = Settings::from_env_with(&overrides, &[]).map_err(anyhow::Error::msg)?;
            return Ok(healthcheck::run(settings.bind).await);
        }
        Command::User { database, command } => {
            user(settings(&database.overrides())?, command).await?
        }
    }
    Ok(0)
}

fn settings(overrides: &Overrides) -> anyhow::Result<Settings> {
    let settings = Settings::from_env_with(overrides, &[]).map_err(anyhow::Error::msg)?;
    crate::adapters::telemetry::init(settings.log_format);
    Ok(settings)
}

/// Serves the API; with a sandbox, configured to use its fakes first.
async fn serve(settings: Settings, sandbox: Option<Sandbox>) -> anyhow::Result<()> {
    let app = Application::build(settings).await?;
    if let Some(sandbox) = &sandbox {
        sandbox
            .configure(&app.state)
            .await
            .map_err(|e| anyhow::anyhow!("cannot configure the sandbox: {e}"))?;
    }
    let base = print_banner(&app);
    if let Some(sandbox) = &sandbox {
        print!("{}", sandbox.guide(&base));
    }
    app.run_until_stopped().await.context("server failed")
}

/// Where a client on this machine reaches a server bound to `bind`: loopback for "every
/// address" (0.0.0.0, [::]), else that address.
fn reachable(bind: SocketAddr) -> SocketAddr {
    let ip = match bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, bind.port())
}

/// Where the server listens and how to log in; returns its base URL.
fn print_banner(app: &Application) -> String {
    let address = SocketAddr::new(reachable(app.state.settings.bind).ip(), app.port());
    let base = format!("http://{address}");
    println!("kaspersky-msp-bridge is listening on {base}");
    println!("  Web console: {base}/");
    println!("  Swagger UI:  {base}/swagger-ui/");
    match &app.admin_bootstrap {
        Some(AdminBootstrap::Generated { username, file }) => println!(
            "  First admin: user \"{username}\", generated password written to {} (owner-only)",
            file.display()
        ),
        Some(AdminBootstrap::FromEnvironment { username }) => {
            println!("  First admin: user \"{username}\", password from BRIDGE_ADMIN_PASSWORD")
        }
        None => {
            let file = app.state.settings.data_dir.join("initial-admin-password");
            if file.exists() {
                println!(
                    "  First admin: user \"admin\", initial password in {}",
                    file.display()
                );
            }
        }
    }
    println!(
        "  Log in:      curl -s -X POST {base}/api/v1/auth/login -H 'Content-Type: application/json' \
         -d '{{\"username\":\"admin\",\"password\":\"<password>\"}}'"
    );
    println!("               then send `Authorization: Bearer <access_token>` (or use Authorize in Swagger UI)");
    base
}

/// `sync`: one run in the foreground against the configured database, no HTTP server.
async fn sync(settings: Settings, dry_run: bool) -> anyhow::Result<u8> {
    let core = crate::web::startup::build_core(settings).await?;
    let report = match foreground::run(core, dry_run).await {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: the sync could not start: {e}");
            return Ok(2);
        }
    };
    print!("{}", report.table);
    let run = &report.run;
    let dry = if run.dry_run {
        " (dry run: nothing written)"
    } else {
        ""
    };
    println!("run {}: {}{dry}", run.id, run.status);
    if report.held > 0 {
        println!(
            "{} held line(s) wait for approval: POST /api/v1/sync/runs with \"approve\"",
            report.held
        );
    }
    if let Some(error) = &run.error {
        eprintln!("error: {error}");
    }
    Ok(report.exit_code())
}

async fn user(settings: Settings, command: UserCommand) -> anyhow::Result<()> {
    let pool = crate::web::startup::connect_database(&settings).await?;
    let actor = Actor::system("cli");
    let (given, generated) = match &command {
        UserCommand::Create { password, .. } | UserCommand::ResetPassword { password, .. } => {
            match password {
                Some(p) => (p.clone(), false),
                None => (password::generate(), true),
            }
        }
    };
    password::check_strength(&given).map_err(|e| anyhow::anyhow!("the password {e}"))?;
    let secret = given.clone();
    let username = tokio::task::spawn_blocking(move || -> anyhow::Result<String> {
        let mut conn = pool.get().context("cannot open the database")?;
        let user = match command {
            UserCommand::Create { username, role, .. } => {
                let username = crate::services::accounts::normalize_username(&username);
                crate::services::accounts::check_username(&username)
                    .map_err(|e| anyhow::anyhow!("the username {e}"))?;
                crate::services::accounts::create_user(
                    &mut conn,
                    &actor,
                    &username,
                    &secret,
                    role.into(),
                    false,
                )
            }
            UserCommand::ResetPassword { username, .. } => {
                crate::services::accounts::reset_password(&mut conn, &actor, &username, &secret)
            }
        }
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(user.username)
    })
    .await??;
    if generated {
        println!("user {username}: password {given}");
    } else {
        println!("user {username}: done");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command and every option says what it is for; options read from the environment
    /// name their variable in `--help`.
    fn check_documented(command: &clap::Command, path: &str) {
        let path = format!("{path} {}", command.get_name());
        assert!(command.get_about().is_some(), "{path} has no doc line");
        for arg in command.get_arguments() {
            let id = arg.get_id().as_str();
            if id == "help" || id == "version" {
                continue;
            }
            assert!(arg.get_help().is_some(), "{path} --{id} has no doc line");
        }
        for sub in command.get_subcommands() {
            if sub.get_name() != "help" {
                check_documented(sub, &path);
            }
        }
    }

    #[test]
    fn every_command_and_option_is_documented() {
        Cli::command().debug_assert();
        let mut cli = Cli::command();
        cli.build();
        check_documented(&cli, "");
        let mut serve = cli.find_subcommand_mut("serve").unwrap().clone();
        let help = serve.render_long_help().to_string();
        for needle in [
            "[env: BRIDGE_BIND",
            "[env: BRIDGE_DATA_DIR",
            "[env: DATABASE_URL",
        ] {
            assert!(help.contains(needle), "{help}");
        }
        for (name, _) in crate::adapters::config::VARIABLES {
            assert!(help.contains(name), "{name}: {help}");
        }
    }

    #[test]
    fn the_readme_documents_every_command_and_variable() {
        let readme = include_str!("../../README.md");
        for command in Cli::command().get_subcommands() {
            let name = command.get_name();
            if name != "help" {
                let row = format!("| `kaspersky-msp-bridge {name}");
                let first =
                    name == "serve" && readme.contains("| `kaspersky-msp-bridge` / `serve`");
                assert!(readme.contains(&row) || first, "README lacks {name}");
            }
        }
        for (name, _) in crate::adapters::config::VARIABLES {
            assert!(
                readme.contains(&format!("| `{name}` |")),
                "README lacks {name}"
            );
        }
    }

    #[test]
    fn clients_reach_a_wildcard_bind_over_loopback() {
        let cases = [
            ("0.0.0.0:8080", "127.0.0.1:8080"),
            ("[::]:8080", "[::1]:8080"),
            ("127.0.0.2:9000", "127.0.0.2:9000"),
        ];
        for (bind, expected) in cases {
            assert_eq!(reachable(bind.parse().unwrap()).to_string(), expected);
        }
    }
}
