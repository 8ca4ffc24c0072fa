//! Behaviour through the HTTP API, one binary for every integration test.

mod audit;
mod auth;
mod company_mappings;
mod connectwise;
mod conventions;
mod errors;
mod faults;
mod fresh_reads;
mod health;
mod helpers;
mod kaspersky;
mod openapi;
mod products;
mod sandbox;
mod service_tokens;
mod startup;
mod sync;
mod sync_ksc;
mod sync_settings;
mod tenants;
mod usage_snapshots;
mod users;
