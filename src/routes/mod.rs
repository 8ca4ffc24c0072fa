//! HTTP handlers: extract → call the domain, the database or a client → respond.

pub mod audit;
pub mod auth;
pub mod company_mappings;
pub mod connections;
pub mod connectwise;
pub mod console;
pub mod etag;
pub mod health;
pub mod input;
pub mod metrics;
pub mod paging;
pub mod product_mappings;
pub mod security_applications;
pub mod service_tokens;
pub mod settings;
pub mod sync;
pub mod tenants;
pub mod usage_snapshots;
pub mod users;
pub mod views;
