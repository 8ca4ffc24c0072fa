//! Ids of ConnectWise records. They are all integers, so each kind has its own type: an
//! agreement id passed where a product id goes is a compile error, not a wrong addition.
//! Serialised as the bare integer.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! integer_id {
    ($($(#[$meta:meta])* $name:ident;)+) => {$(
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    )+};
}

integer_id! {
    /// A ConnectWise company (a tenant is mapped to one).
    CompanyId;
    /// A ConnectWise agreement of a company, where the additions are.
    AgreementId;
    /// A ConnectWise catalog product, what an addition bills.
    ProductId;
}
