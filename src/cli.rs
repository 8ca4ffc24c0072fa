//! The command line: `serve` (default), `migrate`, `openapi`, `user …`.

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use crate::auth::{password, Role};
use crate::config::Settings;
use crate::db::audit::Actor;
use crate::startup::{AdminBootstrap, Application};

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

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Openapi => {
            print!("{}", crate::openapi::spec_json());
            Ok(())
        }
        Command::Serve => serve(settings()?).await,
        Command::Migrate => {
            let settings = settings()?;
            crate::startup::connect_database(&settings).await?;
            println!("database is up to date");
            Ok(())
        }
        Command::User(command) => user(settings()?, command).await,
    }
}

fn settings() -> anyhow::Result<Settings> {
    let settings = Settings::from_env().map_err(anyhow::Error::msg)?;
    crate::telemetry::init(settings.log_format);
    Ok(settings)
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let bind = settings.bind;
    let data_dir = settings.data_dir.clone();
    let app = Application::build(settings).await?;
    let host = if bind.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else if bind.is_ipv6() {
        format!("[{}]", bind.ip())
    } else {
        bind.ip().to_string()
    };
    let base = format!("http://{host}:{}", app.port());
    println!("kaspersky-msp-bridge is listening on {base}");
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
            let file = data_dir.join("initial-admin-password");
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
    app.run_until_stopped().await.context("server failed")
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
                let username = crate::accounts::normalize_username(&username);
                crate::accounts::check_username(&username)
                    .map_err(|e| anyhow::anyhow!("the username {e}"))?;
                crate::accounts::create_user(
                    &mut conn,
                    &actor,
                    &username,
                    &secret,
                    role.into(),
                    false,
                )
            }
            UserCommand::ResetPassword { username, .. } => {
                crate::accounts::reset_password(&mut conn, &actor, &username, &secret)
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
