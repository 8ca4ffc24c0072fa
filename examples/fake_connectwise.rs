//! Runs the fake ConnectWise server over HTTPS with seed data, for external clients to talk to.
//!
//! Prints one JSON line (where to connect, credentials, seeded ids, the CA certificate's path), then
//! serves until interrupted. `scripts/check-fake-connectwise.sh` drives it with `pyconnectwise`.

use kaspersky_msp_bridge::adapters::connectwise::{Agreement, CatalogItem, Company, Reference};
use kaspersky_msp_bridge::cli::sandbox::fake_connectwise::{FakeConnectWise, FakeCwOptions};
use kaspersky_msp_bridge::domain::money::Money;

/// More than one page of 1,000, so clients must follow the paging.
const CATALOG_ITEMS: usize = 1234;

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let fake = FakeConnectWise::start(FakeCwOptions::default())?;
    let catalog_ids: Vec<i64> = (1..=CATALOG_ITEMS)
        .map(|n| {
            fake.add_catalog_item(&CatalogItem {
                identifier: Some(format!("KAS-{n:04}")),
                description: Some(format!("Kaspersky product {n}")),
                price: Money::parse("5.00"),
                cost: Money::parse("2.50"),
                inactive_flag: Some(false),
                product_class: Some("Service".into()),
                ..Default::default()
            })
        })
        .collect();
    let company = fake.add_company(&Company {
        identifier: Some("SmithSons".into()),
        name: Some("Smith & Sons".into()),
        ..Default::default()
    });
    let agreement = fake.add_agreement(&Agreement {
        name: Some("Managed security".into()),
        company: Some(Reference::id(company)),
        start_date: Some("2026-01-01T00:00:00Z".parse().expect("valid date")),
        no_ending_date_flag: Some(true),
        ..Default::default()
    });

    let ca_path = std::env::temp_dir().join(format!("fake-connectwise-{}.pem", std::process::id()));
    std::fs::write(&ca_path, fake.ca_pem())?;
    let options = fake.options();
    let announcement = serde_json::json!({
        "https_url": fake.https_url(),
        "host_port": fake.https_addr().to_string(),
        "login_company": options.company_id,
        "public_key": options.public_key,
        "private_key": options.private_key,
        "client_id": options.client_id,
        "ca_pem_path": ca_path,
        "catalog_items": CATALOG_ITEMS,
        "company_id": company,
        "company_name": "Smith & Sons",
        "agreement_id": agreement,
        "product_id": catalog_ids[0],
    });
    println!("{announcement}");

    actix_web::rt::signal::ctrl_c().await?;
    std::fs::remove_file(&ca_path)?;
    fake.stop().await;
    Ok(())
}
