//! Use cases between the handlers and storage: validation, transactions, audit. Handlers call
//! these with plain inputs; these call `db`, the typed clients and `sync`.

pub mod accounts;
pub mod audit;
pub mod billing_profiles;
pub mod catalog;
pub mod company_mappings;
pub mod company_terms;
pub mod connections;
pub mod error;
pub mod etag;
pub mod fields;
pub mod listing;
pub mod notices;
pub mod notification_channels;
pub mod products;
pub mod reconciliation;
pub mod security_applications;
pub mod service_tokens;
pub mod sessions;
pub mod settings;
pub mod sync_runs;
pub mod tenants;
pub mod usage_snapshots;

pub use error::{FieldError, ServiceError, UpstreamFailure};
