pub mod domain;
pub mod kaspersky;
pub mod sandbox;
