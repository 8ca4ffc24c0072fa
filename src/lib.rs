//! kaspersky-msp-bridge: Kaspersky usage → ConnectWise Manage agreement additions.

pub mod auth;
pub mod cli;
pub mod config;
pub mod connections;
pub mod connectwise;
pub mod db;
pub mod domain;
pub mod error;
pub mod kaspersky;
pub mod metrics;
pub mod middleware;
pub mod net;
pub mod openapi;
pub mod outbound;
pub mod owner_only;
pub mod read_cache;
pub mod routes;
pub mod sandbox;
pub mod secrets;
pub mod services;
pub mod startup;
pub mod state;
pub mod sync;
pub mod telemetry;
