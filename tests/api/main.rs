//! Behaviour through the HTTP API, one binary for every integration test.

mod audit;
mod auth;
mod company_mappings;
mod connectwise;
mod errors;
mod faults;
mod fresh_reads;
mod health;
mod helpers;
mod kaspersky;
mod logs;
mod openapi;
mod products;
mod proxies;
mod sandbox;
mod service_tokens;
mod signing_key;
mod startup;
mod sync;
mod sync_ksc;
mod sync_settings;
mod tenants;
mod usage_snapshots;
mod users;
