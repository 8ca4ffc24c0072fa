//! Builds the application: database, secrets, first admin, and the one route table.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;

use actix_cors::Cors;
use actix_http::{error::DispatchError, HttpService};
use actix_service::{fn_service, map_config, IntoServiceFactory, ServiceFactoryExt};
use actix_web::dev::AppConfig;
use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::middleware::from_fn;
use actix_web::rt::task::JoinHandle;
use actix_web::{web, App, HttpRequest};
use anyhow::Context;
use base64::Engine;
use std::future::ready;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::adapters::config::{redact_url, Settings};
use crate::adapters::db::{self, audit::Actor, DbPool};
use crate::adapters::secrets::SecretBox;
use crate::runtime::auth::jwt::JwtKeys;
use crate::runtime::auth::principal::PrincipalCache;
use crate::runtime::auth::throttle::LoginThrottle;
use crate::runtime::read_cache::ReadCopies;
use crate::runtime::state::SharedClient;
use crate::runtime::state::{AppState, Core};
use crate::web::error::ApiError;
use crate::web::middleware::{request_context, PagedRoutes, ProblemOnBadHead, REQUEST_ID_HEADER};
use crate::web::openapi::{self, MethodTable};
use crate::web::routes::{self, input};

/// How the first admin account came to be, for the start-up banner.
#[derive(Debug, Clone)]
pub enum AdminBootstrap {
    /// Password from `BRIDGE_ADMIN_PASSWORD`.
    FromEnvironment { username: String },
    /// Password generated and written to this file.
    Generated { username: String, file: PathBuf },
}

pub const FIRST_ADMIN: &str = "admin";
/// Where the generated JWT signing key is kept, sealed (also the purpose it is sealed for).
pub const JWT_SECRET_KEY: &str = "jwt_secret_sealed";
/// Where versions before sealing kept it in plain text.
pub const PLAIN_JWT_SECRET_KEY: &str = "jwt_secret";

/// Database ready to serve: pool, migrations applied.
pub async fn connect_database(settings: &Settings) -> anyhow::Result<DbPool> {
    let (url, size) = (settings.database_url.clone(), settings.db_pool_size);
    tokio::task::spawn_blocking(move || {
        let pool = db::connect_pool(&url, size)
            .map_err(|e| anyhow::anyhow!("{e}{}", tls_hint(&e.to_string())))
            .with_context(|| format!("cannot open the database {}", redact_url(&url)))?;
        let mut conn = pool.get().context("cannot open the database")?;
        let ran = db::run_migrations(&mut conn)?;
        if ran > 0 {
            tracing::info!(migrations = ran, "database migrated");
        }
        Ok(pool)
    })
    .await?
}

/// What to do when the PostgreSQL URL asks for TLS and this build's libpq has none.
fn tls_hint(error: &str) -> &'static str {
    if error.contains("SSL support is not compiled in") {
        " (this build's libpq is the bundled one, without TLS: build with \
         `cargo build --release --no-default-features` to link the system's libpq, which speaks \
         TLS, or reach PostgreSQL without `sslmode`)"
    } else {
        ""
    }
}

/// Creates the first admin when there is no user at all.
fn bootstrap_admin(
    conn: &mut db::DbConnection,
    settings: &Settings,
) -> anyhow::Result<Option<AdminBootstrap>> {
    if db::users::count(conn)? > 0 {
        return Ok(None);
    }
    let (password, outcome) = match &settings.admin_password {
        Some(p) => (
            p.clone(),
            AdminBootstrap::FromEnvironment {
                username: FIRST_ADMIN.into(),
            },
        ),
        None => {
            let password = crate::runtime::auth::password::generate();
            let file = settings.data_dir.join("initial-admin-password");
            crate::adapters::owner_only::write(&file, &format!("{password}\n"))?;
            (
                password,
                AdminBootstrap::Generated {
                    username: FIRST_ADMIN.into(),
                    file,
                },
            )
        }
    };
    let created = crate::services::accounts::create_user(
        conn,
        &Actor::system("bootstrap"),
        FIRST_ADMIN,
        &password,
        crate::domain::role::Role::Admin,
        false,
    );
    match created {
        Ok(_) => Ok(Some(outcome)),
        // Another process bootstrapped at the same moment.
        Err(crate::services::ServiceError::Conflict(_)) => Ok(None),
        Err(e) => Err(anyhow::anyhow!("cannot create the first admin: {e}")),
    }
}

/// The JWT signing key: `BRIDGE_JWT_SECRET`, else the one generated once and stored sealed
/// with the encryption key (whoever reads the database must not be able to sign tokens).
fn jwt_secret(
    conn: &mut db::DbConnection,
    settings: &Settings,
    secrets: &SecretBox,
) -> anyhow::Result<Vec<u8>> {
    seal_plain_jwt_secret(conn, secrets)?;
    if let Some(secret) = &settings.jwt_secret {
        return Ok(secret.as_bytes().to_vec());
    }
    let mut random = [0u8; 48];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut random);
    let generated = base64::engine::general_purpose::STANDARD.encode(random);
    let candidate = secrets.seal(JWT_SECRET_KEY, generated.as_bytes());
    let sealed = db::key_values::get_or_insert(conn, JWT_SECRET_KEY, &candidate)?;
    secrets
        .open(JWT_SECRET_KEY, &sealed)
        .context("cannot open the stored JWT signing key")
}

/// Seals the key that versions before sealing stored in plain text: the same key, so the
/// tokens issued with it stay valid.
fn seal_plain_jwt_secret(conn: &mut db::DbConnection, secrets: &SecretBox) -> anyhow::Result<()> {
    if let Some(plain) = db::key_values::get(conn, PLAIN_JWT_SECRET_KEY)? {
        let sealed = secrets.seal(JWT_SECRET_KEY, plain.as_bytes());
        db::key_values::get_or_insert(conn, JWT_SECRET_KEY, &sealed)?;
        db::key_values::delete(conn, PLAIN_JWT_SECRET_KEY)?;
        tracing::info!("sealed the stored JWT signing key with the encryption key");
    }
    Ok(())
}

/// What every entry point shares — the HTTP server, `sync` on the command line, the sandbox:
/// data directory, database migrated, secrets checked against it. It creates no account and
/// starts nothing.
pub async fn build_core(settings: Settings) -> anyhow::Result<Arc<Core>> {
    crate::adapters::owner_only::create_dir_all(&settings.data_dir)?;
    let pool = connect_database(&settings).await?;
    let secrets = Arc::new(SecretBox::load(&settings)?);
    let (pool2, data_dir, secrets2) = (pool.clone(), settings.data_dir.clone(), secrets.clone());
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut conn = pool2.get().context("cannot open the database")?;
        secrets2.ensure_matches_database(&mut conn, &data_dir)?;
        if let Err(e) = crate::sync::runs::restore_metrics(&mut conn) {
            tracing::warn!(error = %e, "the sync metrics start from zero: past runs unreadable");
        }
        Ok(())
    })
    .await??;
    Ok(Arc::new(Core {
        copies: ReadCopies::new(pool.clone()),
        pool,
        secrets,
        connectwise: SharedClient::default(),
        ksc: SharedClient::default(),
        instance_id: format!("{}:{}", std::process::id(), uuid::Uuid::new_v4()),
        notices_due: Arc::default(),
        notice_gauges: Default::default(),
        settings: Arc::new(settings),
    }))
}

/// The HTTP server's state: the core and its sign-in machinery (signing keys, principal cache,
/// login throttle).
pub async fn build_state(settings: Settings) -> anyhow::Result<AppState> {
    let throttle = settings.login_throttle;
    let core = build_core(settings).await?;
    let shared = core.clone();
    let secret = tokio::task::spawn_blocking(move || {
        let mut conn = shared.pool.get().context("cannot open the database")?;
        jwt_secret(&mut conn, &shared.settings, &shared.secrets)
    })
    .await??;
    Ok(AppState {
        jwt: JwtKeys::new(&secret),
        principals: PrincipalCache::default(),
        login_throttle: LoginThrottle::new(throttle),
        core,
    })
}

pub struct Application {
    port: u16,
    server: Server,
    /// The scheduler's and the notifications' tasks, stopped with the server.
    background: Vec<JoinHandle<()>>,
    pub admin_bootstrap: Option<AdminBootstrap>,
    pub state: web::Data<AppState>,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let state = web::Data::new(build_state(settings).await?);
        let (pool, settings) = (state.pool.clone(), state.settings.clone());
        let admin_bootstrap = tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().context("cannot open the database")?;
            bootstrap_admin(&mut conn, &settings)
        })
        .await??;
        let listener = TcpListener::bind(state.settings.bind)
            .with_context(|| format!("cannot listen on {}", state.settings.bind))?;
        let port = listener.local_addr()?.port();
        let connections = connection_limit(&state.settings);
        let server = run(listener, state.clone(), connections)?;
        let mut background = if state.settings.scheduler {
            crate::sync::scheduler::spawn(state.core.clone())
        } else {
            Vec::new()
        };
        // Notifications run in every server: deliveries are claimed, so several never collide.
        background.push(crate::sync::notices::deliver::spawn(state.core.clone()));
        Ok(Application {
            port,
            server,
            background,
            admin_bootstrap,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let stopped = self.server.await;
        for task in self.background {
            task.abort();
        }
        stopped
    }
}

/// Raises the open-file limit as far as the system lets us and caps the connections served at
/// once below it, leaving room for the database and outbound calls (logged at start).
fn connection_limit(settings: &Settings) -> usize {
    let open_files = match crate::adapters::net::raise_open_file_limit() {
        Ok(limit) => {
            if limit.now > limit.before {
                tracing::info!(
                    from = limit.before,
                    to = limit.now,
                    "raised the open-file limit to the hard limit"
                );
            }
            limit.now
        }
        Err(error) => {
            tracing::warn!(%error, "cannot read the open-file limit; assuming 1024");
            1024
        }
    };
    let cap = crate::adapters::net::connection_cap(open_files, settings.db_pool_size);
    tracing::info!(
        open_files,
        max_connections = cap,
        "open-file limit {open_files}: at most {cap} client connections at once"
    );
    cap
}

fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            REQUEST_ID_HEADER,
        ])
        .expose_headers([
            header::ETAG,
            header::LOCATION,
            header::RETRY_AFTER,
            header::LINK,
            header::ALLOW,
            REQUEST_ID_HEADER,
        ])
        .max_age(3600)
        // Same-origin requests (Swagger UI) carry an Origin too: let them through and leave
        // cross-origin enforcement to the browser, which gets no CORS headers for them.
        .block_on_origin_mismatch(false);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}

async fn unmatched(
    req: HttpRequest,
    table: web::Data<MethodTable>,
) -> Result<actix_web::HttpResponse, ApiError> {
    Err(match table.allowed(req.path()) {
        Some(allow) => ApiError::MethodNotAllowed { allow },
        None => ApiError::NotFound(format!("There is no resource at {}.", req.path())),
    })
}

/// Swagger UI for people: the token survives a reload, no "Explore" bar pointing elsewhere,
/// requests timed, operations filterable.
fn swagger_config() -> utoipa_swagger_ui::Config<'static> {
    utoipa_swagger_ui::Config::default()
        .persist_authorization(true)
        .use_base_layout()
        .display_request_duration(true)
        .filter(true)
        .try_it_out_enabled(true)
}

fn run(
    listener: TcpListener,
    state: web::Data<AppState>,
    max_connections: usize,
) -> anyhow::Result<Server> {
    let spec = openapi::spec();
    let methods = web::Data::new(MethodTable::from_spec(&spec));
    let paged = web::Data::new(PagedRoutes::new(openapi::paged_paths(&spec)));
    let document = openapi::spec_value();
    let max_body = state.settings.max_body_bytes;
    let origins = state.settings.cors_origins.clone();
    let app = move || {
        App::new()
            .wrap(cors(&origins))
            .wrap(from_fn(request_context))
            .app_data(state.clone())
            .app_data(methods.clone())
            .app_data(paged.clone())
            .app_data(
                web::JsonConfig::default()
                    .limit(max_body)
                    .error_handler(input::json_error),
            )
            .app_data(web::PayloadConfig::default().limit(max_body))
            .app_data(web::QueryConfig::default().error_handler(input::query_error))
            .app_data(web::PathConfig::default().error_handler(input::path_error))
            .into_utoipa_app()
            .configure(routes::table)
            .into_app()
            .service(
                SwaggerUi::new("/swagger-ui/{_:.*}")
                    .external_url_unchecked("/api-docs/openapi.json", document.clone())
                    .config(swagger_config()),
            )
            .service(web::redirect("/swagger-ui", "/swagger-ui/").permanent())
            .configure(routes::console::configure)
            .default_service(web::to(unmatched))
    };
    // `HttpServer` as it serves a plain listener, but on connections that turn the HTTP
    // parser's bare error answers into problem+json (`middleware::raw_head`).
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let server = actix_server::Server::build()
        .workers(workers)
        .max_concurrent_connections((max_connections / workers).max(1))
        .listen("kaspersky-msp-bridge", listener, move || {
            let app = app()
                .into_factory()
                .map_err(|err: actix_web::Error| err.error_response());
            let http = HttpService::build()
                .client_disconnect_timeout(std::time::Duration::from_secs(1))
                .h1(map_config(app, |_| AppConfig::default()));
            fn_service(|io: actix_web::rt::net::TcpStream| {
                let peer = io.peer_addr().ok();
                ready(Ok::<_, DispatchError>((ProblemOnBadHead::new(io), peer)))
            })
            .and_then(http)
        })?
        .shutdown_timeout(10)
        .run();
    Ok(server)
}
