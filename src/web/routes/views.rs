//! Response bodies shared by several resources.

pub use crate::adapters::db::utc;
