//! Billing notices (issue 25): what a notice is about, how bad it is, and the rule that turns
//! the causes seen now into opened, recurred and resolved notices. A cause has a stable key, so
//! the same cause is one notice however many runs see it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

crate::text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum NoticeKind {
        /// The last sync run ended `partial`, `held` or `failed`.
        RunOutcome => "run_outcome",
        /// Lines have waited for approval longer than the sync settings allow.
        HeldLines => "held_lines",
        /// A billed tenant holds licence keys no application counts (unknown or ambiguous).
        UnattributedKeys => "unattributed_keys",
        /// A discovered tenant no company mapping covers.
        UnmappedTenant => "unmapped_tenant",
        /// A ConnectWise product a mapping bills on is inactive or gone from the catalog.
        InactiveProduct => "inactive_product",
        /// The last test of a connection failed.
        ConnectionTest => "connection_test",
    }
}

crate::text_enum! {
    /// Ordered: a channel's minimum severity lets through that severity and the worse ones.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum Severity {
        Info => "info",
        Warning => "warning",
        Critical => "critical",
    }
}

crate::text_enum! {
    /// Where a channel delivers.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum ChannelKind {
        /// A signed JSON POST to a URL.
        Webhook => "webhook",
    }
}

/// What a notice says beyond its title: which tenants and companies, and where in the console
/// it is resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct NoticeDetail {
    pub summary: String,
    /// Tenants concerned, by name.
    pub tenants: Vec<String>,
    /// ConnectWise companies concerned, by name.
    pub companies: Vec<String>,
    /// The console screen that resolves it (a path of this server).
    pub link: String,
}

/// A cause as seen now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    pub key: String,
    pub kind: NoticeKind,
    pub severity: Severity,
    pub title: String,
    pub detail: NoticeDetail,
    /// What this sighting looked like (e.g. the run that saw it): a new one is a recurrence.
    pub fingerprint: String,
}

/// An open notice as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenNotice {
    pub id: String,
    pub key: String,
    pub kind: NoticeKind,
    pub fingerprint: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Open(Cause),
    Recur { id: String, cause: Cause },
    Resolve { id: String },
}

/// The changes that bring the open notices in line with the causes `seen`. Only open notices
/// `in_scope` (the kinds or keys this evaluation judges) are resolved when their cause is gone.
pub fn reconcile(
    open: &[OpenNotice],
    seen: Vec<Cause>,
    in_scope: impl Fn(&OpenNotice) -> bool,
) -> Vec<Change> {
    let mut changes = Vec::new();
    for notice in open.iter().filter(|n| in_scope(n)) {
        if !seen.iter().any(|c| c.key == notice.key) {
            changes.push(Change::Resolve {
                id: notice.id.clone(),
            });
        }
    }
    for cause in seen {
        match open.iter().find(|n| n.key == cause.key) {
            None => changes.push(Change::Open(cause)),
            Some(n) if n.fingerprint != cause.fingerprint => changes.push(Change::Recur {
                id: n.id.clone(),
                cause,
            }),
            Some(_) => {}
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cause(key: &str, fingerprint: &str) -> Cause {
        Cause {
            key: key.into(),
            kind: NoticeKind::UnmappedTenant,
            severity: Severity::Warning,
            title: key.into(),
            detail: NoticeDetail::default(),
            fingerprint: fingerprint.into(),
        }
    }

    fn open(id: &str, key: &str, kind: NoticeKind, fingerprint: &str) -> OpenNotice {
        OpenNotice {
            id: id.into(),
            key: key.into(),
            kind,
            fingerprint: fingerprint.into(),
        }
    }

    #[test]
    fn opens_recurs_resolves_and_leaves_the_rest() {
        let stored = [
            open("1", "same", NoticeKind::UnmappedTenant, "a"),
            open("2", "again", NoticeKind::UnmappedTenant, "a"),
            open("3", "gone", NoticeKind::UnmappedTenant, "a"),
            open("4", "other", NoticeKind::ConnectionTest, "a"),
        ];
        let seen = vec![cause("same", "a"), cause("again", "b"), cause("new", "a")];
        let changes = reconcile(&stored, seen, |n| n.kind != NoticeKind::ConnectionTest);
        assert_eq!(
            changes,
            vec![
                Change::Resolve { id: "3".into() },
                Change::Recur {
                    id: "2".into(),
                    cause: cause("again", "b")
                },
                Change::Open(cause("new", "a")),
            ]
        );
    }

    #[test]
    fn names_are_the_serde_names_and_severities_are_ordered() {
        for &kind in NoticeKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        for &kind in ChannelKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        for &severity in Severity::ALL {
            assert_eq!(serde_json::to_value(severity).unwrap(), severity.as_str());
        }
        assert!(Severity::Info < Severity::Warning && Severity::Warning < Severity::Critical);
    }
}
