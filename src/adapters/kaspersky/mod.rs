//! Kaspersky Security Center Open API client (DOMAIN.md §4): tenants and their licence usage.

mod client;
mod collect;
mod error;
mod transport;
mod value;

pub use crate::adapters::outbound::retry::RetryPolicy;
pub use client::{KscClient, KscConfig, KscSetupError};
pub use collect::VServer;
pub use error::KscError;
