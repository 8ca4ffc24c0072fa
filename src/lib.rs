//! kaspersky-msp-bridge: Kaspersky usage → ConnectWise Manage agreement additions.
//!
//! The folders are the layers, from the top down; a module uses only what lies below it
//! (checked by `tests/architecture.rs`, rules in `architecture.json`):
//! `cli` (the entry, with the sandbox's fake servers) → `web` (the HTTP application: routes,
//! extractors, middleware, OpenAPI, problem+json) → `services` (whole use cases) → `sync` (the
//! sync engine's stages) → `runtime` (what the running server shares: state, the clients of the
//! stored connections, read copies, authentication) → `adapters` (storage, typed clients of
//! ConnectWise and KSC, outbound rules, secrets, metrics, logs, configuration) → `domain` (the
//! billing rules as pure functions).

pub mod adapters;
pub mod cli;
pub mod domain;
pub mod runtime;
pub mod services;
pub mod sync;
pub mod web;
