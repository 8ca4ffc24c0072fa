//! Who is calling: a user or a service token, with its *current* role.
//!
//! A token's claims are not trusted for the role or for being still allowed: the principal is
//! read from the database and cached for at most `CACHE_TTL`, so a demotion, a disabled
//! account, a revoked service token or a user's new session generation (password or role
//! changed, account disabled, "log out everywhere") takes effect within 5 seconds everywhere,
//! and at once in the process that made the change (it invalidates its cache).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::adapters::db::{self, audit::Actor, DbConnection};
use crate::domain::role::Role;

/// Below API.md's 5-second bound, leaving room for the lookup itself.
pub const CACHE_TTL: Duration = Duration::from_secs(4);
const CACHE_MAX_ENTRIES: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    User,
    Service,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub id: String,
    pub kind: PrincipalKind,
    /// Username, or the service token's name.
    pub name: String,
    pub role: Role,
    /// A user's session generation: only tokens issued in it are accepted (0 for services).
    pub session_generation: i32,
}

impl Principal {
    pub fn actor(&self, request_id: Option<String>, client_address: Option<String>) -> Actor {
        let name = match self.kind {
            PrincipalKind::User => self.name.clone(),
            PrincipalKind::Service => format!("service-token:{}", self.name),
        };
        Actor {
            id: Some(self.id.clone()),
            name,
            request_id,
            client_address,
        }
    }
}

/// Loads a principal that may act now: an enabled user, or an unrevoked, unexpired token.
pub fn load(
    conn: &mut DbConnection,
    kind: PrincipalKind,
    id: &str,
) -> diesel::QueryResult<Option<Principal>> {
    Ok(match kind {
        PrincipalKind::User => {
            db::users::find(conn, id)?
                .filter(|u| !u.disabled)
                .map(|u| Principal {
                    role: u.role,
                    id: u.id,
                    kind,
                    name: u.username,
                    session_generation: u.session_generation,
                })
        }
        PrincipalKind::Service => {
            let now = db::now();
            db::service_tokens::find(conn, id)?
                .filter(|t| t.revoked_at.is_none() && t.expires_at.is_none_or(|e| e > now))
                .map(|t| Principal {
                    role: t.role,
                    id: t.id,
                    kind,
                    name: t.name,
                    session_generation: 0,
                })
        }
    })
}

type Entry = (Instant, Option<Principal>);

#[derive(Default)]
pub struct PrincipalCache {
    entries: Mutex<HashMap<(PrincipalKind, String), Entry>>,
}

impl PrincipalCache {
    /// `Some(answer)` when a fresh answer is cached (the answer may be "no such principal").
    pub fn get(&self, kind: PrincipalKind, id: &str) -> Option<Option<Principal>> {
        let entries = self.entries.lock().expect("principal cache lock");
        entries
            .get(&(kind, id.to_string()))
            .filter(|(at, _)| at.elapsed() < CACHE_TTL)
            .map(|(_, p)| p.clone())
    }

    pub fn put(&self, kind: PrincipalKind, id: &str, principal: Option<Principal>) {
        let mut entries = self.entries.lock().expect("principal cache lock");
        if entries.len() >= CACHE_MAX_ENTRIES {
            entries.retain(|_, (at, _)| at.elapsed() < CACHE_TTL);
            if entries.len() >= CACHE_MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert((kind, id.to_string()), (Instant::now(), principal));
    }

    pub fn invalidate(&self, kind: PrincipalKind, id: &str) {
        let mut entries = self.entries.lock().expect("principal cache lock");
        entries.remove(&(kind, id.to_string()));
    }
}
