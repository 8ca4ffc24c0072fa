//! Desired-state tests: the fixture catalog, tenants and mappings, the `Usage` builder and the
//! `Case` runner; the tests themselves are in the submodules.

mod cases;
mod mappings;

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
