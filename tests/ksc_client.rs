//! The KSC client against the fake KSC server, over real HTTP(S) on 127.0.0.1.

use std::time::Duration;

use futures_util::future::join_all;
use kaspersky_msp_bridge::kaspersky::{KscClient, KscConfig, KscError, RetryPolicy, VServer};
use kaspersky_msp_bridge::metrics::{self, Upstream};
use kaspersky_msp_bridge::sandbox::fake_ksc::{
    demo_applications, demo_expected_usage, FakeKsc, Fault, FaultKind, DEMO_PASSWORD, DEMO_USER,
};

fn config(url: String, password: &str) -> KscConfig {
    let mut config = KscConfig::new(url, DEMO_USER, password);
    config.max_concurrency = 2;
    config.request_timeout = Duration::from_secs(5);
    config.retry = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
    };
    config
}

/// A client that trusts the fake's CA only, as an MSP would configure a private KSC certificate.
fn https_client(fake: &FakeKsc, config: KscConfig) -> KscClient {
    let ca = reqwest::Certificate::from_pem(fake.ca_pem().as_bytes()).unwrap();
    let http = reqwest::Client::builder()
        .tls_certs_only([ca])
        .build()
        .unwrap();
    KscClient::new(http, config)
}

fn http_client(fake: &FakeKsc) -> KscClient {
    KscClient::new(
        reqwest::Client::new(),
        config(fake.base_url(), DEMO_PASSWORD),
    )
}

async fn vserver(client: &KscClient, name: &str) -> VServer {
    client
        .list_vservers()
        .await
        .unwrap()
        .into_iter()
        .find(|vs| vs.display_name == name)
        .unwrap()
}

fn assert_all_released(fake: &FakeKsc) {
    assert_eq!(fake.open_iterators(), 0, "iterators left open");
    assert_eq!(fake.open_accessors(), 0, "accessors left open");
    assert_eq!(fake.open_sessions(), 0, "sessions left open");
}

#[actix_web::test]
async fn collects_every_enabled_tenant_with_exact_counts_over_https() {
    let fake = FakeKsc::start_demo().unwrap();
    let client = https_client(&fake, config(fake.https_url(), DEMO_PASSWORD));

    let vservers = client.list_vservers().await.unwrap();
    let names: Vec<(&str, bool)> = vservers
        .iter()
        .map(|vs| (vs.display_name.as_str(), vs.enabled))
        .collect();
    assert_eq!(
        names,
        [
            ("Contoso", true),
            ("Fabrikam", true),
            ("Tailspin", true),
            ("Northwind", false)
        ]
    );
    assert_eq!(vservers[0].id, 10);
    assert!(!vservers[0].uid.is_empty());

    let enabled: Vec<&VServer> = vservers.iter().filter(|vs| vs.enabled).collect();
    let applications = demo_applications();
    let results = join_all(
        enabled
            .iter()
            .map(|vs| client.collect_usage(vs, &applications)),
    )
    .await;
    let collected = enabled
        .iter()
        .zip(results)
        .map(|(vs, usage)| (vs.display_name.clone(), usage.unwrap()))
        .collect();
    assert_eq!(demo_expected_usage(), collected);

    assert_all_released(&fake);
    // Rows really came in several chunks.
    assert!(
        fake.calls("GroupSyncIterator.GetNextItems")
            > fake.calls("GroupSyncIterator.ReleaseIterator")
    );
    assert!(fake.calls("ChunkAccessor.GetItemsChunk") > fake.calls("ChunkAccessor.Release"));
    fake.stop().await;
}

#[actix_web::test]
async fn bad_credentials_are_refused() {
    let fake = FakeKsc::start_demo().unwrap();
    let client = KscClient::new(reqwest::Client::new(), config(fake.base_url(), "wrong"));
    assert!(matches!(
        client.list_vservers().await,
        Err(KscError::BadCredentials)
    ));

    let contoso = VServer {
        id: 10,
        uid: String::new(),
        display_name: "Contoso".into(),
        enabled: true,
    };
    let refused = client.collect_usage(&contoso, &demo_applications()).await;
    assert!(matches!(refused, Err(KscError::VServerRefused(name)) if name == "Contoso"));
    assert_eq!(fake.calls("Session.StartSession"), 0);
    fake.stop().await;
}

#[actix_web::test]
async fn a_disabled_virtual_server_is_not_read_and_refuses_logins() {
    let fake = FakeKsc::start_demo().unwrap();
    let client = http_client(&fake);
    let mut northwind = vserver(&client, "Northwind").await;
    let logins = fake.calls("login");

    let disabled = client.collect_usage(&northwind, &demo_applications()).await;
    assert!(matches!(disabled, Err(KscError::VServerDisabled(name)) if name == "Northwind"));
    assert_eq!(
        fake.calls("login"),
        logins,
        "a disabled tenant is not even logged in to"
    );

    // A stale listing that still says enabled: the server refuses the login itself.
    northwind.enabled = true;
    let refused = client.collect_usage(&northwind, &demo_applications()).await;
    assert!(matches!(refused, Err(KscError::VServerRefused(name)) if name == "Northwind"));
    assert_all_released(&fake);
    fake.stop().await;
}

#[actix_web::test]
async fn one_failing_tenant_does_not_stop_the_others() {
    let fake = FakeKsc::start_demo().unwrap();
    let client = http_client(&fake);
    let vservers: Vec<VServer> = client
        .list_vservers()
        .await
        .unwrap()
        .into_iter()
        .filter(|vs| vs.enabled)
        .collect();
    fake.inject(
        Fault::new(
            "LicenseKeys.EnumKeys",
            FaultKind::Status {
                status: 500,
                retry_after: None,
            },
        )
        .on_vserver("Fabrikam"),
    );

    let applications = demo_applications();
    let results = join_all(
        vservers
            .iter()
            .map(|vs| client.collect_usage(vs, &applications)),
    )
    .await;
    let expected = demo_expected_usage();
    for (vs, result) in vservers.iter().zip(results) {
        match vs.display_name.as_str() {
            "Fabrikam" => assert!(
                matches!(result, Err(KscError::Http { status: 500, .. })),
                "{result:?}"
            ),
            name => assert_eq!(result.unwrap(), expected[name]),
        }
    }
    // EnumKeys creates server state: a 500 is not replayed.
    assert_eq!(fake.calls("LicenseKeys.EnumKeys"), 3);
    assert_all_released(&fake);
    fake.stop().await;
}

#[actix_web::test]
async fn iterators_and_accessors_are_released_when_reading_fails() {
    let fake = FakeKsc::start_demo().unwrap();
    let client = http_client(&fake);
    let contoso = vserver(&client, "Contoso").await;
    let applications = demo_applications();

    fake.inject(
        Fault::new(
            "GroupSyncIterator.GetNextItems",
            FaultKind::Pxg {
                code: 1186,
                message: "boom".into(),
            },
        )
        .times(1),
    );
    let failed = client.collect_usage(&contoso, &applications).await;
    assert!(
        matches!(failed, Err(KscError::Pxg { code: 1186, .. })),
        "{failed:?}"
    );
    assert_eq!(fake.calls("GroupSyncIterator.ReleaseIterator"), 1);
    assert_all_released(&fake);

    // GetItemsChunk is replay-safe: retried until the attempts run out, then released.
    fake.inject(Fault::new(
        "ChunkAccessor.GetItemsChunk",
        FaultKind::Status {
            status: 502,
            retry_after: None,
        },
    ));
    let failed = client.collect_usage(&contoso, &applications).await;
    assert!(
        matches!(failed, Err(KscError::Http { status: 502, .. })),
        "{failed:?}"
    );
    assert_eq!(fake.calls("ChunkAccessor.GetItemsChunk"), 3);
    assert_eq!(fake.calls("ChunkAccessor.Release"), 1);
    assert_all_released(&fake);
    fake.stop().await;
}

#[actix_web::test]
async fn transient_refusals_and_timeouts_are_retried() {
    let fake = FakeKsc::start_demo().unwrap();
    let mut config = config(fake.base_url(), DEMO_PASSWORD);
    config.request_timeout = Duration::from_millis(300);
    let client = KscClient::new(reqwest::Client::new(), config);

    // 429 with Retry-After: the server did not process it, so even state-creating calls retry.
    fake.inject(
        Fault::new(
            "LicenseKeys.EnumKeys",
            FaultKind::Status {
                status: 429,
                retry_after: Some(0),
            },
        )
        .times(2),
    );
    // A read-only call that times out once.
    fake.inject(
        Fault::new(
            "VServers.GetVServers",
            FaultKind::Delay(Duration::from_secs(1)),
        )
        .times(1),
    );
    let before = metrics::upstream_totals(Upstream::Ksc);
    let contoso = vserver(&client, "Contoso").await;
    assert_eq!(fake.calls("VServers.GetVServers"), 2);
    let usage = client
        .collect_usage(&contoso, &demo_applications())
        .await
        .unwrap();
    assert_eq!(usage, demo_expected_usage()["Contoso"]);
    assert_eq!(fake.calls("LicenseKeys.EnumKeys"), 3);
    // Other tests of this binary count too, so only growth is certain.
    let after = metrics::upstream_totals(Upstream::Ksc);
    assert!(after.rate_limited >= before.rate_limited + 2);
    assert!(after.retries >= before.retries + 3);
    assert_all_released(&fake);

    // A state-creating call that times out is not replayed.
    fake.inject(
        Fault::new(
            "HostGroup.FindHosts",
            FaultKind::Delay(Duration::from_secs(1)),
        )
        .times(1),
    );
    let timed_out = client.collect_usage(&contoso, &demo_applications()).await;
    assert!(matches!(timed_out, Err(KscError::Timeout)), "{timed_out:?}");
    assert_eq!(fake.calls("HostGroup.FindHosts"), 2);
    fake.stop().await;
}

#[actix_web::test]
async fn an_untrusted_certificate_is_a_tls_error() {
    let fake = FakeKsc::start_demo().unwrap();
    let client = KscClient::new(
        reqwest::Client::new(),
        config(fake.https_url(), DEMO_PASSWORD),
    );
    let failed = client.list_vservers().await;
    assert!(matches!(failed, Err(KscError::Tls)), "{failed:?}");
    fake.stop().await;
}

#[actix_web::test]
async fn a_client_with_a_lane_per_slot_keeps_logins_on_their_connections() {
    let fake = FakeKsc::start(
        kaspersky_msp_bridge::sandbox::fake_ksc::FakeKscOptions::new(
            kaspersky_msp_bridge::sandbox::fake_ksc::demo(),
        )
        .latency(Duration::from_millis(2)),
    )
    .unwrap();
    let mut config = config(fake.base_url(), DEMO_PASSWORD);
    config.max_concurrency = 3;
    let lanes = (0..3).map(|_| reqwest::Client::new()).collect();
    let client = KscClient::with_lanes(lanes, config);
    let enabled: Vec<VServer> = client
        .list_vservers()
        .await
        .unwrap()
        .into_iter()
        .filter(|vs| vs.enabled)
        .collect();
    let applications = demo_applications();
    // Every tenant several times at once: logins on one lane never meet the calls of another.
    let rounds = 4;
    let results = join_all((0..rounds).flat_map(|_| enabled.iter()).map(|vs| async {
        (
            vs.display_name.clone(),
            client.collect_usage(vs, &applications).await,
        )
    }))
    .await;
    let expected = demo_expected_usage();
    for (name, usage) in results {
        assert_eq!(Some(&usage.unwrap()), expected.get(&name), "{name}");
    }
    assert_eq!(fake.calls("login"), 1 + rounds * enabled.len() as u64);
    assert_all_released(&fake);
    fake.stop().await;
}
