//! Notification gauges: open notices by kind and failed deliveries, as this server's
//! notification task last read them from the database (every server shows the shared state,
//! and a scrape never queries the database).

use std::collections::BTreeMap;

use super::Exposition;
use crate::domain::notices::NoticeKind;

#[derive(Debug, Clone)]
pub struct NoticeGauges {
    /// Every kind, at zero when none is open.
    pub open_by_kind: BTreeMap<String, u64>,
    /// Deliveries that failed for good.
    pub failed_deliveries: u64,
}

/// Before the first reading, every kind at zero: the series exist from the first scrape.
impl Default for NoticeGauges {
    fn default() -> Self {
        NoticeGauges {
            open_by_kind: NoticeKind::ALL
                .iter()
                .map(|kind| (kind.as_str().to_string(), 0))
                .collect(),
            failed_deliveries: 0,
        }
    }
}

impl NoticeGauges {
    pub fn render(&self) -> String {
        let mut out = Exposition::default();
        let name = "bridge_notices_open";
        out.family(name, "gauge", "Open billing notices, by kind.");
        for (kind, count) in &self.open_by_kind {
            out.sample(name, &format!("kind=\"{}\"", super::escape(kind)), count);
        }
        let name = "bridge_notification_deliveries_failed";
        out.family(
            name,
            "gauge",
            "Notification deliveries that failed for good (every retry used or refused).",
        );
        out.sample(name, "", self.failed_deliveries);
        out.text
    }
}
