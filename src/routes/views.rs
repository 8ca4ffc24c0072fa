//! Response bodies shared by several resources.

pub use crate::db::utc;
