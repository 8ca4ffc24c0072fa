//! The ConnectWise client against the fake ConnectWise server, over real HTTP(S) on 127.0.0.1.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kaspersky_msp_bridge::adapters::connectwise::{
    Addition, Agreement, CatalogItem, Company, Conditions, ConnectWiseClient, ConnectWiseError,
    NewAddition, PatchOperation, Reference, RetryPolicy,
};
use kaspersky_msp_bridge::adapters::metrics::{self, CallOutcome, Upstream};
use kaspersky_msp_bridge::adapters::outbound::{HttpClientOptions, OutboundPolicy};
use kaspersky_msp_bridge::cli::sandbox::fake_connectwise::{route, FakeConnectWise, Fault};
use kaspersky_msp_bridge::domain::money::Money;
use kaspersky_msp_bridge::domain::terms::BillCustomer;

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_secs(2),
    }
}

fn client(fake: &FakeConnectWise) -> ConnectWiseClient {
    client_with(fake, &fake.base_url(), HttpClientOptions::default())
}

fn client_with(fake: &FakeConnectWise, site: &str, http: HttpClientOptions) -> ConnectWiseClient {
    ConnectWiseClient::with_retry_policy(fake.client_config(site), &http, fast_retries()).unwrap()
}

fn start() -> FakeConnectWise {
    FakeConnectWise::start(Default::default()).unwrap()
}

struct Seeded {
    company: i64,
    agreement: i64,
    product: i64,
}

/// A company with an agreement, and a catalog item.
fn seed(fake: &FakeConnectWise) -> Seeded {
    let product = fake.add_catalog_item(&CatalogItem {
        identifier: Some("KES-WS".into()),
        description: Some("Kaspersky Endpoint Security, workstations".into()),
        price: Money::parse("4.5"),
        cost: Money::parse("2.0"),
        ..Default::default()
    });
    let company = fake.add_company(&Company {
        identifier: Some("Contoso".into()),
        name: Some("Contoso Ltd".into()),
        ..Default::default()
    });
    let agreement = fake.add_agreement(&Agreement {
        name: Some("Managed security".into()),
        company: Some(Reference::id(company)),
        ..Default::default()
    });
    Seeded {
        company,
        agreement,
        product,
    }
}

#[actix_web::test]
async fn a_catalog_of_more_than_one_page_is_read_completely() {
    let fake = start();
    for n in 0..2345 {
        fake.add_catalog_item(&CatalogItem {
            identifier: Some(format!("ITEM-{n:04}")),
            description: Some(format!("Item {n}")),
            ..Default::default()
        });
    }
    let cw = client(&fake);
    let items = cw.list_catalog_items(None).await.unwrap();
    assert_eq!(items.len(), 2345);
    assert_eq!(items[2344].identifier.as_deref(), Some("ITEM-2344"));
    assert_eq!(fake.calls("GET", route::CATALOG), 3);

    // The codebase was discovered once and is reused.
    cw.system_info().await.unwrap();
    assert_eq!(fake.calls("GET", route::COMPANY_INFO), 1);
}

#[actix_web::test]
async fn conditions_with_quotes_and_ampersands_match_exactly() {
    let fake = start();
    let names = [
        "Smith & Sons",
        r#"The "Quoted" Co"#,
        r"Back\slash & Co",
        "Smith",
    ];
    for name in names {
        fake.add_company(&Company {
            identifier: Some(name.replace(' ', "")),
            name: Some(name.into()),
            ..Default::default()
        });
    }
    let cw = client(&fake);
    for name in names {
        let found = cw
            .list_companies(Some(&Conditions::eq("name", name)))
            .await
            .unwrap();
        assert_eq!(found.len(), 1, "{name}");
        assert_eq!(found[0].name.as_deref(), Some(name));
    }
    let smiths = cw
        .list_companies(Some(&Conditions::like("name", "smith*")))
        .await
        .unwrap();
    assert_eq!(smiths.len(), 2);
}

#[actix_web::test]
async fn agreements_and_additions_round_trip() {
    let fake = start();
    let Seeded {
        company,
        agreement,
        product,
    } = seed(&fake);
    let cw = client(&fake);
    let agreements = cw.list_agreements(company).await.unwrap();
    assert_eq!(agreements[0].id, Some(agreement));

    let created = cw
        .create_addition(
            agreement,
            &NewAddition::new(product, BillCustomer::Billable, 10.0),
        )
        .await
        .unwrap();
    let id = created.id.unwrap();
    assert_eq!(
        created.unit_price,
        Money::parse("4.5"),
        "catalog price is the default"
    );

    let patched = cw
        .patch_addition(agreement, id, &[PatchOperation::replace("quantity", 12)])
        .await
        .unwrap();
    assert_eq!(patched.quantity, Some(12.0));

    let mut full = cw.get_addition(agreement, id).await.unwrap();
    full.cancelled_date = Some("2026-05-31T00:00:00Z".parse().unwrap());
    let replaced = cw.put_addition(agreement, id, &full).await.unwrap();
    assert_eq!(replaced.cancelled_date, full.cancelled_date);

    let active = Conditions::is_null("cancelledDate");
    assert!(cw
        .list_additions(agreement, Some(&active))
        .await
        .unwrap()
        .is_empty());
    cw.delete_addition(agreement, id).await.unwrap();
    assert!(matches!(
        cw.get_addition(agreement, id).await,
        Err(ConnectWiseError::NotFound { .. })
    ));
}

#[actix_web::test]
async fn retry_after_is_honoured() {
    let fake = start();
    let retry_after = Fault::Status {
        status: 429,
        retry_after: Some(1),
    };
    fake.inject_fault("GET", route::CATALOG, retry_after, 1);
    let cw = client(&fake);
    let before = metrics::upstream_totals(Upstream::ConnectWise);
    let started = Instant::now();
    cw.list_catalog_items(None).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(fake.calls("GET", route::CATALOG), 2);
    // Other tests of this binary count too, so only growth is certain.
    let after = metrics::upstream_totals(Upstream::ConnectWise);
    assert!(after.rate_limited > before.rate_limited);
    assert!(after.retries > before.retries);
    assert!(after.calls_with(CallOutcome::Success) > before.calls_with(CallOutcome::Success));
}

#[actix_web::test]
async fn reads_are_retried_after_server_errors_and_lost_connections() {
    let fake = start();
    let Seeded { agreement, .. } = seed(&fake);
    let server_error = Fault::Status {
        status: 503,
        retry_after: None,
    };
    fake.inject_fault("GET", route::ADDITIONS, server_error, 1);
    fake.inject_fault("GET", route::ADDITIONS, Fault::DropBeforeProcessing, 1);
    client(&fake).list_additions(agreement, None).await.unwrap();
    assert_eq!(fake.calls("GET", route::ADDITIONS), 3);
}

#[actix_web::test]
async fn validation_errors_are_not_retried() {
    let fake = start();
    let Seeded { agreement, .. } = seed(&fake);
    let unknown_product = NewAddition::new(999_999, BillCustomer::Billable, 1.0);
    match client(&fake)
        .create_addition(agreement, &unknown_product)
        .await
    {
        Err(ConnectWiseError::Validation { status, errors, .. }) => {
            assert_eq!(status, 400);
            assert_eq!(errors[0].field.as_deref(), Some("product/id"));
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
    assert_eq!(fake.calls("POST", route::ADDITIONS), 1);
    assert_eq!(fake.writes(), 0);
}

#[actix_web::test]
async fn a_post_whose_response_is_lost_is_not_repeated() {
    let fake = start();
    let Seeded {
        agreement, product, ..
    } = seed(&fake);
    fake.inject_fault("POST", route::ADDITIONS, Fault::ApplyThenDrop, 1);
    let new = NewAddition::new(product, BillCustomer::Billable, 3.0);
    let result = client(&fake).create_addition(agreement, &new).await;
    assert!(
        matches!(result, Err(ConnectWiseError::OutcomeUnknown { .. })),
        "{result:?}"
    );
    assert_eq!(fake.calls("POST", route::ADDITIONS), 1);
    assert_eq!(fake.writes(), 1);
    assert_eq!(fake.additions(agreement).len(), 1);
}

#[actix_web::test]
async fn a_post_answered_with_a_gateway_error_is_not_repeated() {
    let fake = start();
    let Seeded {
        agreement, product, ..
    } = seed(&fake);
    let bad_gateway = Fault::Status {
        status: 502,
        retry_after: None,
    };
    fake.inject_fault("POST", route::ADDITIONS, bad_gateway, 1);
    let new = NewAddition::new(product, BillCustomer::Billable, 3.0);
    let result = client(&fake).create_addition(agreement, &new).await;
    assert!(
        matches!(result, Err(ConnectWiseError::OutcomeUnknown { .. })),
        "{result:?}"
    );
    assert_eq!(fake.calls("POST", route::ADDITIONS), 1);
}

#[actix_web::test]
async fn a_rate_limited_post_is_retried() {
    let fake = start();
    let Seeded {
        agreement, product, ..
    } = seed(&fake);
    let too_many = Fault::Status {
        status: 429,
        retry_after: Some(0),
    };
    fake.inject_fault("POST", route::ADDITIONS, too_many, 1);
    let new = NewAddition::new(product, BillCustomer::Billable, 3.0);
    client(&fake)
        .create_addition(agreement, &new)
        .await
        .unwrap();
    assert_eq!(fake.calls("POST", route::ADDITIONS), 2);
    assert_eq!(fake.writes(), 1);
}

#[actix_web::test]
async fn a_configured_codebase_skips_discovery() {
    let fake = start();
    let mut config = fake.client_config(&fake.base_url());
    config.codebase = Some("v4_6_release".into());
    let cw = ConnectWiseClient::new(config, &HttpClientOptions::default()).unwrap();
    let info = cw.system_info().await.unwrap();
    assert_eq!(info.version.as_deref(), Some("v2025.1.10431"));
    assert_eq!(fake.calls("GET", route::COMPANY_INFO), 0);
}

#[actix_web::test]
async fn bad_credentials_and_client_ids_are_told_apart() {
    let fake = start();
    let mut config = fake.client_config(&fake.base_url());
    config.private_key = "wrong".into();
    let cw = ConnectWiseClient::new(config.clone(), &HttpClientOptions::default()).unwrap();
    let result = cw.system_info().await;
    assert!(
        matches!(result, Err(ConnectWiseError::Unauthorized { .. })),
        "{result:?}"
    );

    config.private_key = fake.options().private_key.clone();
    config.client_id = "not-registered".into();
    let cw = ConnectWiseClient::new(config, &HttpClientOptions::default()).unwrap();
    let result = cw.system_info().await;
    assert!(
        matches!(result, Err(ConnectWiseError::Forbidden { .. })),
        "{result:?}"
    );
}

#[actix_web::test]
async fn an_unreachable_site_is_a_connect_error() {
    let fake = start();
    // Port 1 on loopback: nothing listens there.
    let result = client_with(&fake, "http://127.0.0.1:1", HttpClientOptions::default())
        .system_info()
        .await;
    assert!(
        matches!(result, Err(ConnectWiseError::Connect)),
        "{result:?}"
    );
}

#[actix_web::test]
async fn https_needs_a_trusted_certificate() {
    let fake = start();
    let untrusted = client_with(&fake, &fake.https_url(), HttpClientOptions::default());
    let result = untrusted.system_info().await;
    assert!(matches!(result, Err(ConnectWiseError::Tls)), "{result:?}");

    let trusting = HttpClientOptions {
        extra_ca_pem: Some(fake.ca_pem().to_owned()),
        ..Default::default()
    };
    let info = client_with(&fake, &fake.https_url(), trusting)
        .system_info()
        .await
        .unwrap();
    assert!(info.version.is_some());
}

#[actix_web::test]
async fn slow_answers_time_out() {
    let fake = start();
    let Seeded {
        agreement, product, ..
    } = seed(&fake);
    let impatient = HttpClientOptions {
        request_timeout: Duration::from_millis(200),
        ..Default::default()
    };
    let cw = client_with(&fake, &fake.base_url(), impatient);
    cw.api_base().await.unwrap();
    fake.set_latency(Duration::from_millis(1500));
    let read = cw.get_addition(agreement, 1).await;
    assert!(matches!(read, Err(ConnectWiseError::Timeout)), "{read:?}");
    let new = NewAddition::new(product, BillCustomer::Billable, 1.0);
    let write = cw.create_addition(agreement, &new).await;
    assert!(
        matches!(write, Err(ConnectWiseError::OutcomeUnknown { .. })),
        "{write:?}"
    );
    assert_eq!(fake.calls("POST", route::ADDITIONS), 1);
}

#[actix_web::test]
async fn the_outbound_policy_blocks_disallowed_addresses() {
    let fake = start();
    let only_private = HttpClientOptions {
        policy: Arc::new("10.0.0.0/8".parse::<OutboundPolicy>().unwrap()),
        ..Default::default()
    };
    let by_name = format!(
        "http://localhost:{}",
        fake.base_url().rsplit(':').next().unwrap()
    );
    for site in [fake.base_url(), by_name.clone()] {
        let result = client_with(&fake, &site, only_private.clone())
            .system_info()
            .await;
        assert!(
            matches!(result, Err(ConnectWiseError::OutboundBlocked(_))),
            "{site}: {result:?}"
        );
    }
    assert_eq!(fake.calls("GET", route::COMPANY_INFO), 0);

    let loopback = HttpClientOptions {
        policy: Arc::new("127.0.0.0/8, ::1/128".parse::<OutboundPolicy>().unwrap()),
        ..Default::default()
    };
    client_with(&fake, &by_name, loopback)
        .system_info()
        .await
        .unwrap();
}

#[actix_web::test]
async fn concurrency_is_bounded_per_site() {
    let fake = start();
    let Seeded {
        agreement, product, ..
    } = seed(&fake);
    let id = fake.add_addition(
        agreement,
        &Addition {
            product: Some(Reference::id(product)),
            bill_customer: Some("Billable".into()),
            ..Default::default()
        },
    );
    let mut config = fake.client_config(&fake.base_url());
    config.max_concurrency = 2;
    let cw = ConnectWiseClient::new(config, &HttpClientOptions::default()).unwrap();
    cw.api_base().await.unwrap();
    fake.set_latency(Duration::from_millis(100));
    let reads = (0..8).map(|_| {
        let cw = cw.clone();
        async move { cw.get_addition(agreement, id).await }
    });
    for result in futures_util::future::join_all(reads).await {
        result.unwrap();
    }
    assert_eq!(fake.max_in_flight(), 2);
}

#[actix_web::test]
async fn a_codebase_never_moves_the_calls_to_another_host() {
    use kaspersky_msp_bridge::cli::sandbox::fake_connectwise::FakeCwOptions;
    // What a hostile or broken companyinfo could answer: a "codebase" that is an absolute URL.
    for codebase in ["https:127.0.0.1:1/", "\\\\127.0.0.1:1/"] {
        let fake = FakeConnectWise::start(FakeCwOptions {
            codebase: codebase.into(),
            ..Default::default()
        })
        .unwrap();
        let refused = client(&fake).system_info().await;
        assert!(
            matches!(&refused, Err(ConnectWiseError::InvalidConfig(why)) if why.contains("not a path")),
            "{codebase}: {refused:?}"
        );
        assert_eq!(fake.calls("GET", route::SYSTEM_INFO), 0);
    }
}
