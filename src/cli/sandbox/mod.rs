//! Local stand-ins for the outside systems, for tests and demos. They bind to 127.0.0.1 only.

pub mod demo;
pub mod fake_connectwise;
pub mod fake_ksc;
mod latency;
pub mod tls;
