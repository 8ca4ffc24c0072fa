//! What every handler shares.

use std::sync::{Arc, Mutex};

use crate::adapters::config::Settings;
use crate::adapters::connectwise::ConnectWiseClient;
use crate::adapters::db::DbPool;
use crate::adapters::kaspersky::KscClient;
use crate::adapters::metrics::NoticeGauges;
use crate::adapters::secrets::SecretBox;
use crate::runtime::auth::jwt::JwtKeys;
use crate::runtime::auth::principal::PrincipalCache;
use crate::runtime::auth::throttle::LoginThrottle;
use crate::runtime::read_cache::ReadCopies;

/// What the HTTP layer holds: the use cases' context and the machinery of its own sign-in
/// (token keys, the principal cache, the login throttle).
pub struct AppState {
    pub core: Arc<Core>,
    pub jwt: JwtKeys,
    pub principals: PrincipalCache,
    pub login_throttle: LoginThrottle,
}

/// What every use case, the sync engine and the scheduler share: the database, the settings,
/// the secrets, the outside systems' clients, the read copies and this process's identity as a
/// lease holder. Services take it as their context (`ctx: &Core`).
pub struct Core {
    pub pool: DbPool,
    pub settings: Arc<Settings>,
    pub secrets: Arc<SecretBox>,
    pub connectwise: SharedClient<ConnectWiseClient>,
    pub ksc: SharedClient<KscClient>,
    /// Version-checked copies of the hottest reads.
    pub copies: ReadCopies,
    /// This process, as a holder of the sync lease.
    pub instance_id: String,
    /// Wakes the notification task: something a notice is derived from changed.
    pub notices_due: Arc<tokio::sync::Notify>,
    /// The notice gauges as the notification task last read them, for `/metrics`.
    pub notice_gauges: Mutex<NoticeGauges>,
}

/// Handlers read the shared parts (`state.pool`, `state.settings`) through the core.
impl std::ops::Deref for AppState {
    type Target = Core;

    fn deref(&self) -> &Core {
        &self.core
    }
}

/// A client shared by every caller so its limits hold for the whole process, rebuilt when the
/// version of what it was built from (the stored connection) changes.
pub struct SharedClient<C> {
    current: Mutex<Option<(String, C)>>,
}

impl<C> Default for SharedClient<C> {
    fn default() -> Self {
        SharedClient {
            current: Mutex::new(None),
        }
    }
}

impl<C: Clone> SharedClient<C> {
    pub fn get_or_build<E>(
        &self,
        version: String,
        build: impl FnOnce() -> Result<C, E>,
    ) -> Result<C, E> {
        let mut current = self.current.lock().expect("client cache lock");
        if let Some((v, client)) = current.as_ref() {
            if *v == version {
                return Ok(client.clone());
            }
        }
        let client = build()?;
        *current = Some((version, client.clone()));
        Ok(client)
    }
}
