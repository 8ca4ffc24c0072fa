//! Response bodies shared by several resources.

use chrono::{DateTime, NaiveDateTime, Utc};

/// Stored times are naive UTC; the API speaks RFC 3339 with `Z`.
pub fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}
