//! What the running server shares: its state, the clients of the stored connections, the read
//! copies of the hottest reads, and authentication (tokens, principals, login throttling).

pub mod auth;
pub mod clients;
pub mod read_cache;
pub mod state;
