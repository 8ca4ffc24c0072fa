//! Sync: usage → plan → ConnectWise agreement additions (DOMAIN.md §6), with stored previews,
//! recorded runs and one run at a time across processes.

pub mod apply;
pub mod collect;
mod error;
pub mod foreground;
pub mod inputs;
mod lease;
pub mod notices;
mod pipeline;
pub mod plan;
mod record;
pub mod retention;
pub mod runs;
pub mod schedule;
pub mod scheduler;
pub mod settings;

pub use error::SyncError;
