//! Sandbox mode: the fake ConnectWise and the fake KSC with demo data, and a server configured
//! to use them, so a newcomer can walk through mapping, preview and sync without real systems.

use serde_json::json;

use crate::adapters::connectwise::{Agreement, CatalogItem, Company, Reference};
use crate::adapters::db::audit::Actor;
use crate::cli::sandbox::fake_connectwise::FakeConnectWise;
use crate::cli::sandbox::fake_ksc::{FakeKsc, DEMO_PASSWORD, DEMO_USER};
use crate::domain::money::Money;
use crate::runtime::state::Core;
use crate::services::billing_profiles;
use crate::services::connections::{self, connectwise::ConnectWise, kaspersky::Kaspersky};
use crate::services::etag::IfMatch;
use crate::services::fields::parse_body;
use crate::web::error::ApiError;

/// Each demo KSC virtual server and the ConnectWise company billed for it.
const COMPANIES: [(&str, &str); 4] = [
    ("Contoso", "Contoso Ltd"),
    ("Fabrikam", "Fabrikam Inc"),
    ("Tailspin", "Tailspin Toys"),
    ("Northwind", "Northwind Traders"),
];

/// Products for billing by device category and per application.
const CATALOG: [(&str, &str, &str, &str); 5] = [
    (
        "KES-WS",
        "Kaspersky Endpoint Security, Windows workstation",
        "4.00",
        "2.00",
    ),
    (
        "KES-SRV",
        "Kaspersky Endpoint Security, Windows server",
        "9.00",
        "4.50",
    ),
    (
        "KES-NONWIN",
        "Kaspersky Endpoint Security, Linux or macOS device",
        "4.00",
        "2.00",
    ),
    (
        "KES-LINUX",
        "Kaspersky Endpoint Security for Linux",
        "5.00",
        "2.50",
    ),
    (
        "KES-MAC",
        "Kaspersky Endpoint Security for Mac",
        "5.00",
        "2.50",
    ),
];

/// A seeded ConnectWise company with its active agreement.
#[derive(Debug, Clone)]
pub struct DemoCompany {
    /// The KSC virtual server it matches.
    pub tenant: &'static str,
    pub name: &'static str,
    pub company_id: i64,
    pub agreement_id: i64,
}

pub struct Sandbox {
    pub connectwise: FakeConnectWise,
    pub ksc: FakeKsc,
    pub companies: Vec<DemoCompany>,
    /// Catalog identifier and id.
    pub products: Vec<(&'static str, i64)>,
}

impl Sandbox {
    /// Starts both fakes with their demo data (inside an actix runtime).
    pub fn start() -> std::io::Result<Sandbox> {
        Self::start_with(0)
    }

    /// As [`Sandbox::start`], with `extra_products` generated catalog items (`PG-00001`, …)
    /// after the demo products, for a large catalog.
    pub fn start_with(extra_products: u32) -> std::io::Result<Sandbox> {
        let connectwise = FakeConnectWise::start(Default::default())?;
        let ksc = FakeKsc::start_demo()?;
        let products = CATALOG
            .iter()
            .map(|&(identifier, description, price, cost)| {
                let id = connectwise.add_catalog_item(&CatalogItem {
                    identifier: Some(identifier.into()),
                    description: Some(description.into()),
                    price: Money::parse(price),
                    cost: Money::parse(cost),
                    ..Default::default()
                });
                (identifier, id)
            })
            .collect();
        for n in 1..=extra_products {
            connectwise.add_catalog_item(&CatalogItem {
                identifier: Some(format!("PG-{n:05}")),
                description: Some(format!("Generated product {n}")),
                price: Money::parse("1.00"),
                cost: Money::parse("0.50"),
                ..Default::default()
            });
        }
        let companies = COMPANIES
            .iter()
            .map(|&(tenant, name)| {
                let company_id = connectwise.add_company(&Company {
                    identifier: Some(tenant.into()),
                    name: Some(name.into()),
                    ..Default::default()
                });
                let agreement_id = connectwise.add_agreement(&Agreement {
                    name: Some(format!("Managed security – {name}")),
                    company: Some(Reference::id(company_id)),
                    agreement_status: Some("Active".into()),
                    ..Default::default()
                });
                DemoCompany {
                    tenant,
                    name,
                    company_id,
                    agreement_id,
                }
            })
            .collect();
        Ok(Sandbox {
            connectwise,
            ksc,
            companies,
            products,
        })
    }

    /// Points the server at the fakes — ConnectWise over HTTP, KSC over HTTPS trusting the
    /// fake's CA —, refreshes the catalog and the tenants and collects the tenants' usage once.
    /// Audited as the `sandbox` actor.
    pub async fn configure(&self, state: &Core) -> Result<(), ApiError> {
        let o = self.connectwise.options();
        let cw = parse_body(json!({"site_url": self.connectwise.base_url(),
            "company_id": o.company_id, "public_key": o.public_key,
            "private_key": o.private_key, "client_id": o.client_id}))?;
        let ksc = parse_body(
            json!({"server_url": self.ksc.https_url(), "user": DEMO_USER,
            "password": DEMO_PASSWORD, "ca_certificate_pem": self.ksc.ca_pem()}),
        )?;
        let actor = Actor::system("sandbox");
        connections::replace::<ConnectWise>(state, actor.clone(), IfMatch::any(), cw).await?;
        connections::replace::<Kaspersky>(state, actor, IfMatch::any(), ksc).await?;
        crate::services::catalog::refresh(state).await?;
        self.price(state).await?;
        crate::services::tenants::refresh(state).await?;
        // Usage is there before the first preview, as the README's walk-through expects.
        crate::sync::collect::collect(state, &Actor::system("sandbox"), None).await?;
        Ok(())
    }

    /// The MSP's prices: Windows servers at its own price (12.00, the catalog says 9.00), Mac
    /// devices on the invoice at no charge.
    async fn price(&self, state: &Core) -> Result<(), ApiError> {
        let profiles = [
            (
                "KES-SRV",
                json!({"unit_price": "12.00", "invoice_description":
                "{application} on Windows servers for {company}: {quantity}"}),
            ),
            ("KES-MAC", json!({"bill_customer": "NoCharge"})),
        ];
        for (identifier, body) in profiles {
            let Some(&(_, product_id)) = self.products.iter().find(|(i, _)| *i == identifier)
            else {
                continue;
            };
            let profile = parse_body(body)?;
            let actor = Actor::system("sandbox");
            billing_profiles::put(state, actor, product_id, IfMatch::any(), profile).await?;
        }
        Ok(())
    }

    /// What to try next, printed by `kaspersky-msp-bridge sandbox`.
    pub fn guide(&self, api: &str) -> String {
        let o = self.connectwise.options();
        let additions = format!(
            "{}/{}apis/3.0/finance/agreements/<agreement_id>/additions",
            self.connectwise.base_url(),
            o.codebase
        );
        let mut text = format!(
            "Sandbox: fake ConnectWise at {} (company {}), fake KSC at {}\n",
            self.connectwise.base_url(),
            o.company_id,
            self.ksc.https_url()
        );
        text += "  Catalog products:";
        for (identifier, id) in &self.products {
            text += &format!(" {identifier}={id}");
        }
        text += "\n  Companies (KSC tenant → company, agreement):\n";
        for c in &self.companies {
            text += &format!(
                "    {:<10} → company {} {:?}, agreement {}\n",
                c.tenant, c.company_id, c.name, c.agreement_id
            );
        }
        text += &format!(
            "Try it (README, \"Sandbox walk-through\"):\n\
             \x20 1. log in:          POST {api}/api/v1/auth/login\n\
             \x20 2. map products:    PUT  {api}/api/v1/product-mappings/kes-windows  {{\"product_id\": <KES-WS id>}}\n\
             \x20 3. map companies:   GET  {api}/api/v1/tenants, then POST {api}/api/v1/company-mappings\n\
             \x20                     {{\"tenant_id\": …, \"cw_company_id\": …, \"agreement_id\": …}}\n\
             \x20 4. preview:         POST {api}/api/v1/sync/preview\n\
             \x20 5. sync:            POST {api}/api/v1/sync/runs, then GET the run's Location\n\
             \x20 6. see the additions in the fake ConnectWise:\n\
             \x20    curl -s -u '{}+{}:{}' -H 'clientId: {}' {additions}\n",
            o.company_id, o.public_key, o.private_key, o.client_id
        );
        text
    }
}
