//! Kaspersky Security Center Open API client (DOMAIN.md §4): tenants and their licence usage.

mod client;
mod collect;
mod error;
mod value;

pub use client::{KscClient, KscConfig, RetryPolicy};
pub use collect::VServer;
pub use error::KscError;
