//! What every handler shares.

use std::sync::Arc;

use crate::auth::jwt::JwtKeys;
use crate::auth::principal::PrincipalCache;
use crate::auth::throttle::LoginThrottle;
use crate::config::Settings;
use crate::connections::connectwise::SharedClient;
use crate::db::DbPool;
use crate::read_cache::ReadCopies;
use crate::secrets::SecretBox;

pub struct AppState {
    pub pool: DbPool,
    pub settings: Arc<Settings>,
    pub jwt: JwtKeys,
    pub principals: PrincipalCache,
    pub login_throttle: LoginThrottle,
    pub secrets: Arc<SecretBox>,
    pub connectwise: SharedClient,
    /// Version-checked copies of the hottest reads.
    pub copies: ReadCopies,
    /// This process, as a holder of the sync lease.
    pub instance_id: String,
}
