pub mod connectwise;
pub mod domain;
pub mod outbound;
pub mod sandbox;
