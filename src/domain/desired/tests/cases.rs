//! The desired-state table: one case per rule turning usage into desired quantities.

use super::*;

fn cases() -> Vec<Case> {
    let too_old = UnreadableReason::PushTooOld {
        pushed_at: "2026-05-01T00:00:00Z".parse().unwrap(),
    };
    vec![
        Case {
            name: "toggle off: per-device total goes to the single product",
            mappings: vec![single(KES_WIN, 11)],
            companies: vec![company(KSC_A, 100)],
            usage: vec![(KSC_A, Usage::default().devices(KES_WIN, 3, 1, 2).fresh())],
            quantities: vec![(100, 11, 6)],
            ..Case::default()
        },
        Case {
            name: "toggle on: per-device split into three category products",
            by_category: true,
            mappings: vec![by_category(KES_WIN, Some(21), Some(22), Some(23))],
            companies: vec![company(KSC_A, 100)],
            usage: vec![(KSC_A, Usage::default().devices(KES_WIN, 3, 1, 2).fresh())],
            quantities: vec![(100, 21, 3), (100, 22, 1), (100, 23, 2)],
            ..Case::default()
        },
        Case {
            name: "toggle on: an empty category bills nothing",
            by_category: true,
            mappings: vec![by_category(KES_WIN, Some(21), Some(22), Some(23))],
            companies: vec![company(KSC_A, 100)],
            usage: vec![(KSC_A, Usage::default().devices(KES_WIN, 3, 0, 2).fresh())],
            quantities: vec![(100, 21, 3), (100, 23, 2)],
            ..Case::default()
        },
        Case {
            name: "toggle on: both forms stored, category form wins",
            by_category: true,
            mappings: vec![ProductMapping {
                product_id: Some(11),
                ..by_category(KES_WIN, Some(21), Some(22), Some(23))
            }],
            companies: vec![company(KSC_A, 100)],
            usage: vec![(KSC_A, Usage::default().devices(KES_WIN, 3, 1, 2).fresh())],
            quantities: vec![(100, 21, 3), (100, 22, 1), (100, 23, 2)],
            ..Case::default()
        },
        Case {
            name: "toggle off: both forms stored, single form wins",
            mappings: vec![ProductMapping {
                product_id: Some(11),
                ..by_category(KES_WIN, Some(21), Some(22), Some(23))
            }],
            companies: vec![company(KSC_A, 100)],
            usage: vec![(KSC_A, Usage::default().devices(KES_WIN, 3, 1, 2).fresh())],
            quantities: vec![(100, 11, 6)],
            ..Case::default()
        },
        Case {
            name: "toggle off: two applications mapped to one product are summed",
            mappings: vec![single(KES_WIN, 11), single(KES_LINUX, 11)],
            companies: vec![company(KSC_A, 100)],
            usage: vec![(
                KSC_A,
                Usage::default()
                    .devices(KES_WIN, 3, 1, 0)
                    .devices(KES_LINUX, 0, 0, 4)
                    .fresh(),
            )],
            quantities: vec![(100, 11, 8)],
            ..Case::default()
        },
        Case {
            name: "toggle on: categories of two applications sharing products are summed",
            by_category: true,
            mappings: vec![
                by_category(KES_WIN, Some(21), Some(22), Some(23)),
                by_category(KES_LINUX, Some(21), Some(22), Some(23)),
            ],
            companies: vec![company(KSC_A, 100)],
            usage: vec![(
                KSC_A,
                Usage::default()
                    .devices(KES_WIN, 3, 1, 0)
                    .devices(KES_LINUX, 0, 1, 4)
                    .fresh(),
            )],
            quantities: vec![(100, 21, 3), (100, 22, 2), (100, 23, 4)],
            ..Case::default()
        },
        Case {
            name: "toggle on: per-user application counts users on its single product",
            by_category: true,
            mappings: vec![single(KES_CLOUD, 31)],
            companies: vec![company(HUB, 200)],
            usage: vec![(HUB, Usage::default().users(KES_CLOUD, 5).fresh())],
            quantities: vec![(200, 31, 5)],
            ..Case::default()
        },
        Case {
            name: "per-mailbox application counts mailboxes",
            mappings: vec![single(O365, 32), single(KES_CLOUD, 31)],
            companies: vec![company(HUB, 200)],
            usage: vec![(
                HUB,
                Usage::default()
                    .users(KES_CLOUD, 5)
                    .mailboxes(O365, 40)
                    .fresh(),
            )],
            quantities: vec![(200, 31, 5), (200, 32, 40)],
            ..Case::default()
        },
        Case {
            name: "per-user and per-mailbox applications mapped to one product are summed",
            mappings: vec![single(O365, 31), single(KES_CLOUD, 31)],
            companies: vec![company(HUB, 200)],
            usage: vec![(
                HUB,
                Usage::default()
                    .users(KES_CLOUD, 5)
                    .mailboxes(O365, 40)
                    .fresh(),
            )],
            quantities: vec![(200, 31, 45)],
            ..Case::default()
        },
        Case {
            name: "never-mapped application is unbilled, the others bill",
            mappings: vec![single(KES_WIN, 11)],
            companies: vec![company(KSC_A, 100)],
            usage: vec![(
                KSC_A,
                Usage::default()
                    .devices(KES_WIN, 3, 0, 0)
                    .devices(KES_LINUX, 0, 0, 4)
                    .fresh(),
            )],
            quantities: vec![(100, 11, 3)],
            unbilled: vec![(KSC_A, KES_LINUX, None, 4, ApplicationNotMapped)],
            ..Case::default()
        },
        Case {
            name: "toggle on: unbilled usage is reported per category",
            by_category: true,
            companies: vec![company(KSC_A, 100)],
            usage: vec![(KSC_A, Usage::default().devices(KES_LINUX, 0, 1, 4).fresh())],
            unbilled: vec![
                (KSC_A, KES_LINUX, Some(WS), 1, ApplicationNotMapped),
                (KSC_A, KES_LINUX, Some(NW), 4, ApplicationNotMapped),
            ],
            ..Case::default()
        },
        Case {
            name: "toggle on: a missing category product blocks the whole agreement",
            by_category: true,
            mappings: vec![
                by_category(KES_WIN, Some(21), Some(22), None),
                by_category(KES_LINUX, Some(21), Some(22), Some(23)),
            ],
            companies: vec![company(KSC_A, 100)],
            usage: vec![(
                KSC_A,
                Usage::default()
                    .devices(KES_WIN, 3, 0, 0)
                    .devices(KES_LINUX, 0, 0, 4)
                    .fresh(),
            )],
            blocked: vec![(KSC_A, vec![KES_WIN])],
            // The usage that blocks is listed as unbilled, with its own reason.
            unbilled: vec![(KSC_A, KES_WIN, Some(WW), 3, Blocked)],
            ..Case::default()
        },
        Case {
            name: "toggle on: only the single form stored blocks",
            by_category: true,
            mappings: vec![single(KES_WIN, 11)],
            companies: vec![company(KSC_A, 100)],
            usage: vec![(KSC_A, Usage::default().devices(KES_WIN, 3, 0, 0).fresh())],
            blocked: vec![(KSC_A, vec![KES_WIN])],
            unbilled: vec![(KSC_A, KES_WIN, Some(WW), 3, Blocked)],
            ..Case::default()
        },
        Case {
            name: "toggle off: only the category form stored blocks",
            mappings: vec![
                by_category(KES_WIN, Some(21), Some(22), Some(23)),
                by_category(KES_LINUX, Some(21), None, None),
            ],
            companies: vec![company(KSC_A, 100)],
            usage: vec![(
                KSC_A,
                Usage::default()
                    .devices(KES_WIN, 3, 0, 0)
                    .devices(KES_LINUX, 0, 0, 1)
                    .fresh(),
            )],
            blocked: vec![(KSC_A, vec![KES_LINUX, KES_WIN])],
            unbilled: vec![
                (KSC_A, KES_LINUX, None, 1, Blocked),
                (KSC_A, KES_WIN, None, 3, Blocked),
            ],
            ..Case::default()
        },
        Case {
            name: "incomplete mapping of an application without usage does not block",
            by_category: true,
            mappings: vec![
                by_category(KES_WIN, Some(21), None, None),
                by_category(KES_LINUX, Some(21), Some(22), Some(23)),
            ],
            companies: vec![company(KSC_A, 100)],
            usage: vec![(
                KSC_A,
                Usage::default()
                    .devices(KES_WIN, 0, 0, 0)
                    .devices(KES_LINUX, 0, 0, 4)
                    .fresh(),
            )],
            quantities: vec![(100, 23, 4)],
            ..Case::default()
        },
        Case {
            name: "blocked tenant still reports its unmapped usage; other tenants bill",
            by_category: true,
            mappings: vec![by_category(KES_WIN, Some(21), None, Some(23))],
            companies: vec![company(KSC_A, 100), company(KSC_B, 300)],
            usage: vec![
                (
                    KSC_A,
                    Usage::default()
                        .devices(KES_WIN, 0, 2, 0)
                        .devices(KES_LINUX, 1, 0, 0)
                        .fresh(),
                ),
                (KSC_B, Usage::default().devices(KES_LINUX, 0, 0, 7).fresh()),
            ],
            blocked: vec![(KSC_A, vec![KES_WIN])],
            unbilled: vec![
                (KSC_A, KES_LINUX, Some(WW), 1, ApplicationNotMapped),
                (KSC_A, KES_WIN, Some(WS), 2, Blocked),
                (KSC_B, KES_LINUX, Some(NW), 7, ApplicationNotMapped),
            ],
            ..Case::default()
        },
        Case {
            name: "unreadable usage freezes the tenant's agreement, with the reason",
            mappings: vec![single(KES_WIN, 11), single(KES_CLOUD, 31)],
            companies: vec![company(KSC_A, 100), company(KSC_B, 300), company(HUB, 200)],
            usage: vec![
                (
                    KSC_A,
                    UsageState::Unreadable(UnreadableReason::LoginRefused),
                ),
                (
                    KSC_B,
                    UsageState::Unreadable(UnreadableReason::VirtualServerVanished),
                ),
                (HUB, UsageState::Unreadable(too_old.clone())),
            ],
            frozen: vec![
                (KSC_A, UnreadableReason::LoginRefused),
                (KSC_B, UnreadableReason::VirtualServerVanished),
                (HUB, too_old),
            ],
            ..Case::default()
        },
        Case {
            name: "a billed tenant without any snapshot is frozen, never billed as zero",
            mappings: vec![single(KES_WIN, 11)],
            companies: vec![company(KSC_A, 100)],
            frozen: vec![(KSC_A, UnreadableReason::NoSnapshot)],
            ..Case::default()
        },
        Case {
            name: "billing disabled: released, its usage reported unbilled",
            mappings: vec![single(KES_WIN, 11)],
            companies: vec![billing_off(KSC_A, 100)],
            usage: vec![(KSC_A, Usage::default().devices(KES_WIN, 3, 0, 0).fresh())],
            released: vec![KSC_A],
            unbilled: vec![(KSC_A, KES_WIN, None, 3, BillingDisabled)],
            ..Case::default()
        },
        Case {
            name: "billing disabled and unreadable: released, nothing else",
            companies: vec![billing_off(KSC_A, 100)],
            usage: vec![(
                KSC_A,
                UsageState::Unreadable(UnreadableReason::VirtualServerDisabled),
            )],
            released: vec![KSC_A],
            ..Case::default()
        },
        Case {
            name: "tenant without company mapping: usage unbilled; unreadable ones ignored",
            mappings: vec![single(KES_WIN, 11)],
            usage: vec![
                (KSC_A, Usage::default().devices(KES_WIN, 3, 0, 0).fresh()),
                (
                    KSC_B,
                    UsageState::Unreadable(UnreadableReason::LoginRefused),
                ),
            ],
            unbilled: vec![(KSC_A, KES_WIN, None, 3, TenantNotMapped)],
            ..Case::default()
        },
        Case {
            name: "other solution's application, unknown id, or wrong unit: unknown application",
            mappings: vec![single(KES_WIN, 11), single(KES_CLOUD, 31)],
            companies: vec![company(KSC_A, 100)],
            usage: vec![(
                KSC_A,
                Usage::default()
                    .users(KES_CLOUD, 5)
                    .devices("custom-gone", 0, 0, 2)
                    .mailboxes(KES_WIN, 1)
                    .fresh(),
            )],
            unbilled: vec![
                (KSC_A, "custom-gone", None, 2, UnknownApplication),
                (KSC_A, KES_CLOUD, None, 5, UnknownApplication),
                (KSC_A, KES_WIN, None, 1, UnknownApplication),
            ],
            ..Case::default()
        },
        Case {
            name: "unknown keys in a billed snapshot guard the agreement's cancels",
            mappings: vec![single(KES_WIN, 11)],
            companies: vec![company(KSC_A, 100), company(KSC_B, 300)],
            usage: vec![
                (
                    KSC_A,
                    Usage::default()
                        .devices(KES_WIN, 3, 0, 0)
                        .unknown_key()
                        .fresh(),
                ),
                (KSC_B, Usage::default().devices(KES_WIN, 1, 0, 0).fresh()),
            ],
            quantities: vec![(100, 11, 3), (300, 11, 1)],
            unattributed: vec![KSC_A],
            unbilled: vec![(KSC_A, "-", None, 2, UnbilledReason::UnknownKey)],
            ..Case::default()
        },
        Case {
            name: "zero usage everywhere: nothing desired, nothing unbilled",
            mappings: vec![single(KES_WIN, 11)],
            companies: vec![company(KSC_A, 100)],
            usage: vec![(KSC_A, Usage::default().devices(KES_WIN, 0, 0, 0).fresh())],
            ..Case::default()
        },
    ]
}

#[test]
fn desired_state_table() {
    for case in cases() {
        let state = run(&case);
        let name = case.name;
        let quantities: Vec<_> = state
            .quantities
            .iter()
            .map(|q| (q.agreement_id.0, q.product_id.0, q.quantity))
            .collect();
        assert_eq!(quantities, case.quantities, "{name}: quantities");
        let frozen: Vec<_> = state
            .frozen
            .iter()
            .map(|f| (f.tenant_id.as_str(), f.reason.clone()))
            .collect();
        assert_eq!(frozen, case.frozen, "{name}: frozen");
        let blocked: Vec<_> = state
            .blocked
            .iter()
            .map(|b| {
                (
                    b.tenant_id.as_str(),
                    b.applications
                        .iter()
                        .map(String::as_str)
                        .collect::<Vec<_>>(),
                )
            })
            .collect();
        assert_eq!(blocked, case.blocked, "{name}: blocked");
        let released: Vec<_> = state
            .released
            .iter()
            .map(|r| r.tenant_id.as_str())
            .collect();
        assert_eq!(released, case.released, "{name}: released");
        let unattributed: Vec<_> = state
            .unattributed_keys
            .iter()
            .map(|u| u.tenant_id.as_str())
            .collect();
        assert_eq!(unattributed, case.unattributed, "{name}: unattributed keys");
        for tenant in &state.unattributed_keys {
            assert_eq!(
                tenant.product_names,
                ["Kaspersky Something New"],
                "{name}: the product names are named"
            );
        }
        let unbilled: Vec<_> = state
            .unbilled
            .iter()
            .map(|u| {
                (
                    u.tenant_id.as_str(),
                    // "-": a key no single application counted.
                    u.application_id.as_deref().unwrap_or("-"),
                    u.category,
                    u.quantity,
                    u.reason,
                )
            })
            .collect();
        assert_eq!(unbilled, case.unbilled, "{name}: unbilled");
    }
}
