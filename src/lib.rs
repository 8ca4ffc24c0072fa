pub mod domain;
pub mod kaspersky;
