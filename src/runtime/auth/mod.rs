//! Authentication and authorisation: roles, passwords, JWTs, login throttling and the cache of
//! principals (the request extractors that use them are `routes::extract`).

pub mod jwt;
pub mod password;
pub mod principal;
pub mod throttle;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

crate::text_enum! {
    /// A role; each can do everything the ones below it can.
    #[derive(
        Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
    )]
    #[serde(rename_all = "snake_case")]
    pub enum Role {
        Viewer => "viewer",
        Operator => "operator",
        Admin => "admin",
    }
}

pub use principal::{Principal, PrincipalKind};

#[cfg(test)]
mod tests {
    use super::Role;

    #[test]
    fn role_names_are_the_serde_names() {
        for &role in Role::ALL {
            assert_eq!(serde_json::to_value(role).unwrap(), role.as_str());
        }
    }
}
