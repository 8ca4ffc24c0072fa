//! The world outside the billing rules: storage (diesel on PostgreSQL and SQLite), the typed
//! clients of ConnectWise and KSC, the outbound rules, secrets at rest, metrics, logs,
//! configuration and operating-system limits.

pub mod config;
pub mod connectwise;
pub mod database_kind;
pub mod db;
pub mod kaspersky;
pub mod metrics;
pub mod net;
pub mod outbound;
pub mod owner_only;
pub mod secrets;
pub mod telemetry;
pub mod webhook;
