//! Billing notices (issue 25): what a notice is about, how bad it is, and the rule that turns
//! the causes seen now into opened, recurred and resolved notices. A cause has a stable key, so
//! the same cause is one notice however many runs see it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::money::Money;
use crate::domain::validation::trim_blank;

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
        /// Held lines would move a company's monthly bill by at least the configured amount.
        HeldMoney => "held_money",
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
        /// A ConnectWise service ticket per notice: opened, noted on recurrence, closed.
        ConnectwiseTicket => "connectwise_ticket",
    }
}

/// A ConnectWise record named by id, name or identifier, as a channel's settings give it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordRef {
    #[schema(minimum = 1)]
    pub id: Option<i64>,
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub name: Option<String>,
    /// Companies only: the company's identifier.
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub identifier: Option<String>,
}

/// Where and how a ConnectWise ticket channel opens its tickets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"board": {"name": "Help Desk"}, "status": {"name": "New"},
    "closed_status": {"name": "Closed"}, "priority": {"name": "Priority 3 - Normal Response"},
    "type": {"name": "Billing"}, "company": {"identifier": "MyMSP"}, "on_affected_company": true}))]
pub struct TicketSettings {
    /// The service board, by id or name (looked up in ConnectWise).
    pub board: RecordRef,
    /// The status of a new ticket, by id or name; the board's default when left out.
    #[serde(default)]
    pub status: Option<RecordRef>,
    /// The status a ticket is set to when its cause is gone, by id or name.
    pub closed_status: RecordRef,
    #[serde(default)]
    pub priority: Option<RecordRef>,
    /// The ticket type, by id or name.
    #[serde(default, rename = "type")]
    pub ticket_type: Option<RecordRef>,
    /// The company tickets are opened on (usually the MSP's own), by id or identifier.
    pub company: RecordRef,
    /// A notice about exactly one company is opened on that company instead (default false).
    #[serde(default)]
    pub on_affected_company: bool,
}

impl TicketSettings {
    /// Every rule the settings break, by field (`ticket.board`): each reference names its
    /// record one way (a company by id or identifier, anything else by id or name).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let mut check = |field: &str, r: &RecordRef, company: bool| {
            let named = if company { &r.identifier } else { &r.name };
            let other = if company { &r.name } else { &r.identifier };
            let blank = named
                .as_deref()
                .is_some_and(|n| trim_blank(n).is_empty() || n.chars().count() > 100);
            let ways = usize::from(r.id.is_some()) + usize::from(named.is_some());
            let what = if company {
                "`id` or `identifier`"
            } else {
                "`id` or `name`"
            };
            if ways != 1 || other.is_some() || blank || r.id.is_some_and(|id| id <= 0) {
                problems.push((
                    format!("ticket.{field}"),
                    format!("must name the record by {what}, one of them"),
                ));
            }
        };
        check("board", &self.board, false);
        check("closed_status", &self.closed_status, false);
        check("company", &self.company, true);
        for (field, r) in [
            ("status", &self.status),
            ("priority", &self.priority),
            ("type", &self.ticket_type),
        ] {
            if let Some(r) = r {
                check(field, r, false);
            }
        }
        problems
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
    /// Their ConnectWise ids, where known (a ticket can be opened on the one company concerned).
    pub company_ids: Vec<i64>,
    /// The change in monthly billing at stake (held lines), where it applies.
    pub money_at_stake: Option<Money>,
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

    #[test]
    fn ticket_settings_name_each_record_one_way() {
        let by_name = |n: &str| RecordRef {
            name: Some(n.into()),
            ..RecordRef::default()
        };
        let by_id = |id: i64| RecordRef {
            id: Some(id),
            ..RecordRef::default()
        };
        let good = TicketSettings {
            board: by_name("Help Desk"),
            closed_status: by_id(7),
            company: RecordRef {
                identifier: Some("MyMSP".into()),
                ..RecordRef::default()
            },
            ..TicketSettings::default()
        };
        assert_eq!(good.problems(), Vec::<(String, String)>::new());
        type Breaks = fn(&mut TicketSettings);
        let cases: [(&str, Breaks); 8] = [
            ("ticket.board", |t| t.board = RecordRef::default()),
            ("ticket.board", |t| t.board.id = Some(3)),
            ("ticket.board", |t| t.board.name = Some("  ".into())),
            ("ticket.board", |t| t.board.identifier = Some("x".into())),
            ("ticket.closed_status", |t| t.closed_status.id = Some(0)),
            ("ticket.company", |t| t.company.name = Some("My MSP".into())),
            ("ticket.status", |t| t.status = Some(RecordRef::default())),
            ("ticket.type", |t| {
                t.ticket_type = Some(RecordRef {
                    id: Some(1),
                    name: Some("Billing".into()),
                    identifier: None,
                })
            }),
        ];
        for (field, break_it) in cases {
            let mut settings = good.clone();
            break_it(&mut settings);
            let fields: Vec<String> = settings.problems().into_iter().map(|(f, _)| f).collect();
            assert_eq!(fields, vec![field.to_string()], "{settings:?}");
        }
    }
}
