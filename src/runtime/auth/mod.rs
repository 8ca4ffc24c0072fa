//! Authentication and authorisation: passwords, JWTs, login throttling and the cache of
//! principals (the request extractors that use them are `routes::extract`; the roles are
//! `domain::role`).

pub mod jwt;
pub mod password;
pub mod principal;
pub mod throttle;

pub use principal::{Principal, PrincipalKind};
