use super::*;
use crate::domain::model::{CategoryCounts, UnattributedKey};
use crate::domain::product_mapping::CategoryProducts;
use DeviceCategory::{NonWindows as NW, WindowsServer as WS, WindowsWorkstation as WW};
use LicensingModel::{PerDevice, PerMailbox, PerUser};
use UnbilledReason::{
    ApplicationNotMapped, BillingDisabled, Blocked, TenantNotMapped, UnknownApplication,
};

// Applications of the fixture catalog.
const KES_WIN: &str = "kes-win";
const KES_LINUX: &str = "kes-linux";
const KES_CLOUD: &str = "kes-cloud";
const O365: &str = "o365";

fn catalog() -> Vec<SecurityApplication> {
    let app = |id: &str, solution, licensing_model| SecurityApplication {
        id: id.into(),
        solution,
        licensing_model,
        folds_into: None,
    };
    vec![
        app(KES_WIN, Solution::Ksc, PerDevice),
        app(KES_LINUX, Solution::Ksc, PerDevice),
        app(KES_CLOUD, Solution::BusinessHub, PerUser),
        app(O365, Solution::BusinessHub, PerMailbox),
    ]
}

fn single(app: &str, product: i64) -> ProductMapping {
    ProductMapping {
        application_id: app.into(),
        product_id: Some(product),
        category_products: CategoryProducts::default(),
    }
}

fn by_category(app: &str, ww: Option<i64>, ws: Option<i64>, nw: Option<i64>) -> ProductMapping {
    let category_products = CategoryProducts {
        windows_workstation: ww,
        windows_server: ws,
        non_windows: nw,
    };
    ProductMapping {
        application_id: app.into(),
        product_id: None,
        category_products,
    }
}

// Tenants and their agreements.
const KSC_A: &str = "ksc-a";
const KSC_B: &str = "ksc-b";
const HUB: &str = "hub";

fn company(tenant: &str, agreement_id: i64) -> CompanyMapping {
    let solution = if tenant == HUB {
        Solution::BusinessHub
    } else {
        Solution::Ksc
    };
    CompanyMapping {
        tenant_id: tenant.into(),
        solution,
        cw_company_id: agreement_id + 1,
        agreement_id: AgreementId(agreement_id),
        billing_enabled: true,
        terms: Default::default(),
    }
}

fn billing_off(tenant: &str, agreement_id: i64) -> CompanyMapping {
    CompanyMapping {
        billing_enabled: false,
        ..company(tenant, agreement_id)
    }
}

#[derive(Default)]
struct Usage(TenantUsage);

impl Usage {
    fn devices(mut self, app: &str, ww: u64, ws: u64, nw: u64) -> Self {
        let counts = CategoryCounts {
            windows_workstation: ww,
            windows_server: ws,
            non_windows: nw,
        };
        self.0.devices.insert(app.into(), counts);
        self
    }
    fn users(mut self, app: &str, n: u64) -> Self {
        self.0.users.insert(app.into(), n);
        self
    }
    fn mailboxes(mut self, app: &str, n: u64) -> Self {
        self.0.mailboxes.insert(app.into(), n);
        self
    }
    fn unknown_key(mut self) -> Self {
        self.0.unknown_keys.push(UnattributedKey {
            serial: "S-1".into(),
            product_name: "Kaspersky Something New".into(),
            app_id: "9999".into(),
            candidates: vec![],
            hosts: 2,
        });
        self
    }
    fn fresh(self) -> UsageState {
        UsageState::Fresh(self.0)
    }
}

#[derive(Default)]
struct Case {
    name: &'static str,
    by_category: bool,
    mappings: Vec<ProductMapping>,
    companies: Vec<CompanyMapping>,
    usage: Vec<(&'static str, UsageState)>,
    // Expected: (agreement, product, quantity)
    quantities: Vec<(i64, i64, u64)>,
    frozen: Vec<(&'static str, UnreadableReason)>,
    blocked: Vec<(&'static str, Vec<&'static str>)>,
    released: Vec<&'static str>,
    unattributed: Vec<&'static str>,
    unbilled: Vec<(
        &'static str,
        &'static str,
        Option<DeviceCategory>,
        u64,
        UnbilledReason,
    )>,
}

fn run(case: &Case) -> DesiredState {
    let applications = catalog();
    let usage = case
        .usage
        .iter()
        .map(|(t, u)| (t.to_string(), u.clone()))
        .collect();
    desired_state(&BillingInput {
        applications: &applications,
        product_mappings: &case.mappings,
        bill_devices_by_category: case.by_category,
        bill_licence_tiers: true,
        company_mappings: &case.companies,
        usage: &usage,
    })
}

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

#[test]
fn contributions_name_tenant_application_and_category() {
    let contribution = |application_id: &str, category, quantity| Contribution {
        tenant_id: KSC_A.into(),
        application_id: application_id.into(),
        category,
        quantity,
    };
    // Flattened in (product, application) order.
    let cases = [
        (
            false,
            vec![
                contribution(KES_LINUX, None, 5),
                contribution(KES_WIN, None, 4),
            ],
        ),
        (
            true,
            vec![
                contribution(KES_WIN, Some(WW), 3),
                contribution(KES_LINUX, Some(WS), 1),
                contribution(KES_WIN, Some(WS), 1),
                contribution(KES_LINUX, Some(NW), 4),
            ],
        ),
    ];
    for (by_category, expected) in cases {
        let case = Case {
            by_category,
            mappings: vec![
                ProductMapping {
                    product_id: Some(11),
                    ..by_category_all(KES_WIN)
                },
                ProductMapping {
                    product_id: Some(11),
                    ..by_category_all(KES_LINUX)
                },
            ],
            companies: vec![company(KSC_A, 100)],
            usage: vec![(
                KSC_A,
                Usage::default()
                    .devices(KES_WIN, 3, 1, 0)
                    .devices(KES_LINUX, 0, 1, 4)
                    .fresh(),
            )],
            ..Case::default()
        };
        let contributions: Vec<_> = run(&case)
            .quantities
            .into_iter()
            .flat_map(|q| q.contributions)
            .collect();
        assert_eq!(contributions, expected, "by_category={by_category}");
    }
}

/// Every category of every application on the same three products.
fn by_category_all(app: &str) -> ProductMapping {
    by_category(app, Some(21), Some(22), Some(23))
}

#[test]
fn mapping_status_table() {
    use MappingStatus::{Complete, Incomplete, Unmapped};
    let all = Some(by_category_all(KES_WIN));
    let one = Some(single(KES_WIN, 11));
    let both = Some(ProductMapping {
        product_id: Some(11),
        ..by_category_all(KES_WIN)
    });
    let partial = Some(by_category(KES_WIN, Some(21), None, Some(23)));
    let empty = Some(by_category(KES_WIN, None, None, None));
    let cases = [
        ("no mapping row", None, PerDevice, false, Unmapped),
        (
            "row with no product",
            empty.clone(),
            PerDevice,
            true,
            Unmapped,
        ),
        ("off: single", one.clone(), PerDevice, false, Complete),
        ("off: both forms", both.clone(), PerDevice, false, Complete),
        (
            "off: only categories",
            all.clone(),
            PerDevice,
            false,
            Incomplete,
        ),
        ("on: all categories", all.clone(), PerDevice, true, Complete),
        ("on: both forms", both.clone(), PerDevice, true, Complete),
        (
            "on: two of three categories",
            partial.clone(),
            PerDevice,
            true,
            Incomplete,
        ),
        ("on: only single", one.clone(), PerDevice, true, Incomplete),
        ("on: per-user single", one.clone(), PerUser, true, Complete),
        (
            "on: per-mailbox single",
            one.clone(),
            PerMailbox,
            true,
            Complete,
        ),
        (
            "on: per-user only categories",
            partial,
            PerUser,
            true,
            Incomplete,
        ),
        ("off: per-user no mapping", empty, PerUser, false, Unmapped),
    ];
    for (name, mapping, model, bill_by_category, expected) in cases {
        assert_eq!(
            mapping_status(mapping.as_ref(), model, bill_by_category),
            expected,
            "{name}"
        );
    }
}

/// Licence tiers (DOMAIN.md §6 "Application identity"): on their own when tiers are billed
/// separately; folded into the application they counted as before when not, each host once.
#[test]
fn folded_tiers_bill_as_the_application_they_fold_into() {
    const SELECT: &str = "kesb-select";
    let mut applications = catalog();
    applications.push(SecurityApplication {
        id: SELECT.into(),
        solution: Solution::Ksc,
        licensing_model: PerDevice,
        folds_into: Some(KES_WIN.into()),
    });
    let mut usage = Usage::default()
        .devices(KES_WIN, 1, 1, 0)
        .devices(SELECT, 2, 0, 0)
        .0;
    // One host holds both keys: folded, it is one device.
    usage.folded_devices = [(
        KES_WIN.to_string(),
        CategoryCounts {
            windows_workstation: 2,
            windows_server: 1,
            non_windows: 0,
        },
    )]
    .into();
    let usage = [(KSC_A.to_string(), UsageState::Fresh(usage))].into();
    let companies = [company(KSC_A, 100)];
    let both_mapped = [single(KES_WIN, 11), single(SELECT, 12)];
    let category_mapped = [by_category(KES_WIN, Some(21), Some(22), Some(23))];
    // (case, mappings, by category, tiers separate, quantities, unbilled tier units)
    type TierCase<'a> = (
        &'a str,
        &'a [ProductMapping],
        bool,
        bool,
        Vec<(i64, i64, u64)>,
        u64,
    );
    let cases: Vec<TierCase> = vec![
        (
            "separate",
            &both_mapped,
            false,
            true,
            vec![(100, 11, 2), (100, 12, 2)],
            0,
        ),
        (
            "folded: as before, one device per host",
            &both_mapped,
            false,
            false,
            vec![(100, 11, 3)],
            0,
        ),
        (
            "separate, the tier unmapped: unbilled",
            &both_mapped[..1],
            false,
            true,
            vec![(100, 11, 2)],
            2,
        ),
        (
            "folded by category: the tier's unmapped state does not matter",
            &category_mapped,
            true,
            false,
            vec![(100, 21, 2), (100, 22, 1)],
            0,
        ),
    ];
    for (name, mappings, by_category, separate, quantities, unbilled_tier) in cases {
        let state = desired_state(&BillingInput {
            applications: &applications,
            product_mappings: mappings,
            bill_devices_by_category: by_category,
            bill_licence_tiers: separate,
            company_mappings: &companies,
            usage: &usage,
        });
        let actual: Vec<_> = state
            .quantities
            .iter()
            .map(|q| (q.agreement_id.0, q.product_id.0, q.quantity))
            .collect();
        assert_eq!(actual, quantities, "{name}");
        assert!(state.blocked.is_empty(), "{name}: {:?}", state.blocked);
        let tier_unbilled: u64 = state
            .unbilled
            .iter()
            .filter(|u| u.application_id.as_deref() == Some(SELECT))
            .map(|u| u.quantity)
            .sum();
        assert_eq!(tier_unbilled, unbilled_tier, "{name}");
    }
}
