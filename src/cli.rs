//! The command line: `serve` (default), `sandbox`, `sync`, `migrate`, `openapi`, `user …`.

use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use crate::auth::{password, Role};
use crate::config::Settings;
use crate::db::audit::Actor;
use crate::sandbox::demo::Sandbox;
use crate::startup::{AdminBootstrap, Application};
use crate::sync::foreground;

#[derive(Parser)]
#[command(
    name = "kaspersky-msp-bridge",
    version,
    about = "Kaspersky usage → ConnectWise Manage agreement additions"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Start the API server (the default).
    Serve,
    /// Start the API server against a fake ConnectWise and a fake KSC with demo data, to try
    /// everything locally (data in ./data-sandbox unless BRIDGE_DATA_DIR or DATABASE_URL say
    /// otherwise).
    Sandbox,
    /// Run one sync in the foreground and print its changes. Exit code 0: succeeded; 1: held
    /// (lines wait for approval) or partial (a tenant not billed, a line not applied); 2: failed
    /// or could not start (another run is going).
    Sync {
        /// Plan and record the run, write nothing to ConnectWise.
        #[arg(long)]
        dry_run: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI document.
    Openapi,
    /// Manage accounts directly in the database (for recovery).
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create an account; the password is generated and printed unless given.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// The password (prefer the environment variable: the command line is visible to others).
        #[arg(long, env = "BRIDGE_NEW_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Set a new password; generated and printed unless given.
    ResetPassword {
        #[arg(long)]
        username: String,
        #[arg(long, env = "BRIDGE_NEW_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Viewer,
    Operator,
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
    match cli.command.unwrap_or(Command::Serve) {
        Command::Openapi => {
            print!("{}", crate::openapi::spec_json());
        }
        Command::Serve => serve(settings()?, None).await?,
        Command::Sandbox => {
            let settings = Settings::from_env_with(&[("BRIDGE_DATA_DIR", "data-sandbox")])
                .map_err(anyhow::Error::msg)?;
            crate::telemetry::init(settings.log_format);
            let sandbox = Sandbox::start().context("cannot start the fake servers")?;
            serve(settings, Some(sandbox)).await?
        }
        Command::Sync { dry_run } => return sync(settings()?, dry_run).await,
        Command::Migrate => {
            let settings = settings()?;
            crate::startup::connect_database(&settings).await?;
            println!("database is up to date");
        }
        Command::User(command) => user(settings()?, command).await?,
    }
    Ok(0)
}

fn settings() -> anyhow::Result<Settings> {
    let settings = Settings::from_env().map_err(anyhow::Error::msg)?;
    crate::telemetry::init(settings.log_format);
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

/// Where the server listens and how to log in; returns its base URL.
fn print_banner(app: &Application) -> String {
    let bind = app.state.settings.bind;
    let host = if bind.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else if bind.is_ipv6() {
        format!("[{}]", bind.ip())
    } else {
        bind.ip().to_string()
    };
    let base = format!("http://{host}:{}", app.port());
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
    let state = Arc::new(crate::startup::build_state(settings).await?);
    let report = match foreground::run(state, dry_run).await {
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
    let pool = crate::startup::connect_database(&settings).await?;
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
