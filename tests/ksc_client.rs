//! The KSC client against the fake KSC server, over real HTTP(S) on 127.0.0.1.

use std::time::Duration;

use futures_util::future::join_all;
use kaspersky_msp_bridge::adapters::kaspersky::{
    KscClient, KscConfig, KscError, RetryPolicy, VServer,
};
use kaspersky_msp_bridge::adapters::metrics::{self, Upstream};
use kaspersky_msp_bridge::adapters::outbound::HttpClientOptions;
use kaspersky_msp_bridge::cli::sandbox::fake_ksc::{
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

fn client(config: KscConfig) -> KscClient {
    KscClient::new(config, &HttpClientOptions::default()).unwrap()
}

/// A client that trusts the fake's CA, as an MSP would configure a private KSC certificate.
fn https_client(fake: &FakeKsc, config: KscConfig) -> KscClient {
    let http = HttpClientOptions {
        extra_ca_pem: Some(fake.ca_pem().to_string()),
        ..HttpClientOptions::default()
    };
    KscClient::new(config, &http).unwrap()
}

fn http_client(fake: &FakeKsc) -> KscClient {
    client(config(fake.base_url(), DEMO_PASSWORD))
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
    let client = client(config(fake.base_url(), "wrong"));
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
    let client = client(config);

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
    let client = client(config(fake.https_url(), DEMO_PASSWORD));
    let failed = client.list_vservers().await;
    assert!(matches!(failed, Err(KscError::Tls)), "{failed:?}");
    fake.stop().await;
}

/// A request on one raw connection (no pool): the fake's view of connection-bound logins.
struct RawConnection {
    sender: hyper::client::conn::http1::SendRequest<http_body_util::Full<bytes::Bytes>>,
    host: String,
}

impl RawConnection {
    async fn open(fake: &FakeKsc) -> RawConnection {
        let host = fake.base_url().trim_start_matches("http://").to_string();
        let stream = tokio::net::TcpStream::connect(&host).await.unwrap();
        let (sender, driver) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        actix_web::rt::spawn(driver);
        RawConnection { sender, host }
    }

    async fn post(&mut self, method: &str, headers: &[(&str, String)]) -> (u16, serde_json::Value) {
        use http_body_util::BodyExt;
        let mut request = hyper::Request::post(format!("/api/v1.0/{method}"))
            .header("Host", &self.host)
            .header("Content-Type", "application/json");
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let request = request
            .body(http_body_util::Full::new(bytes::Bytes::from_static(b"{}")))
            .unwrap();
        let response = self.sender.send_request(request).await.unwrap();
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&body).unwrap_or_default())
    }

    async fn login(&mut self, vserver: &str) -> u16 {
        use base64::Engine;
        let b64 = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
        let authorization = format!(
            r#"KSCBasic user="{}", pass="{}", domain="", internal="1""#,
            b64(DEMO_USER),
            b64(DEMO_PASSWORD)
        );
        let headers = [
            ("Authorization", authorization),
            ("X-KSC-VServer", b64(vserver)),
        ];
        self.post("login", &headers).await.0
    }
}

#[actix_web::test]
async fn the_fake_binds_a_login_to_its_connection_as_ksc_does() {
    let fake = FakeKsc::start_demo().unwrap();
    let mut contoso = RawConnection::open(&fake).await;
    let mut fabrikam = RawConnection::open(&fake).await;
    let mut never_logged_in = RawConnection::open(&fake).await;
    assert_eq!(contoso.login("Contoso").await, 200);
    assert_eq!(fabrikam.login("Fabrikam").await, 200);

    // StartSession belongs to whatever logged in on the connection it arrives on.
    for (connection, vserver) in [(&mut contoso, "Contoso"), (&mut fabrikam, "Fabrikam")] {
        let before = fake.sessions_started(vserver);
        let (status, started) = connection.post("Session.StartSession", &[]).await;
        assert_eq!(status, 200);
        assert!(started["PxgRetVal"].as_str().is_some_and(|t| !t.is_empty()));
        assert_eq!(fake.sessions_started(vserver), before + 1, "{vserver}");
    }

    // On a connection never logged in it is refused, as KSC does.
    let (status, refused) = never_logged_in.post("Session.StartSession", &[]).await;
    assert_eq!(status, 401);
    assert_eq!(refused["PxgError"]["code"], 1184);
    assert_eq!(refused["PxgError"]["message"], "Not authenticated");
    assert_eq!(fake.not_authenticated(), 1);

    // A session token is honoured on any connection, and reads its own virtual server only.
    let (_, started) = fabrikam.post("Session.StartSession", &[]).await;
    let token = started["PxgRetVal"].as_str().unwrap().to_string();
    let (status, listed) = never_logged_in
        .post("LicenseKeys.EnumKeys", &[("X-KSC-Session", token)])
        .await;
    assert_eq!(status, 200);
    assert_eq!(listed["lKeyCount"], 4, "Fabrikam's four keys");
    fake.stop().await;
}

/// Every tenant read many times at once, at several concurrency levels: each result is its own
/// tenant's truth, no call is refused, and every session is started on its own virtual server.
#[actix_web::test]
async fn sessions_never_cross_tenants_at_any_concurrency() {
    let tenants = 24;
    let fake = FakeKsc::start(
        kaspersky_msp_bridge::cli::sandbox::fake_ksc::FakeKscOptions::new(
            kaspersky_msp_bridge::cli::sandbox::fake_ksc::numbered_tenants(tenants),
        )
        .latency(Duration::from_millis(1)),
    )
    .unwrap();
    let expected = kaspersky_msp_bridge::cli::sandbox::fake_ksc::numbered_expected_usage(tenants);
    let applications = demo_applications();
    let rounds = 3;
    for concurrency in [1, 4, 8] {
        let mut config = config(fake.base_url(), DEMO_PASSWORD);
        config.max_concurrency = concurrency;
        let client = client(config);
        let vservers = client.list_vservers().await.unwrap();
        assert_eq!(vservers.len(), tenants);
        let (client, applications) = (&client, &applications);
        let reads = (0..rounds)
            .flat_map(|_| vservers.iter())
            .map(|vs| async move { (vs, client.collect_usage(vs, applications).await) });
        for (vs, usage) in join_all(reads).await {
            let usage = usage.unwrap_or_else(|e| panic!("{}: {e}", vs.display_name));
            assert_eq!(
                Some(&usage),
                expected.get(&vs.display_name),
                "{} at concurrency {concurrency}",
                vs.display_name
            );
        }
    }
    assert_eq!(fake.not_authenticated(), 0, "no call refused");
    for vs in 0..tenants {
        let name = kaspersky_msp_bridge::cli::sandbox::fake_ksc::numbered_name(vs);
        assert_eq!(fake.sessions_started(&name), 3 * rounds as u64, "{name}");
    }
    assert_all_released(&fake);
    fake.stop().await;
}

/// The server closes the connection a login arrived on (its keep-alive limit): the login pair
/// starts again on a new connection, never a StartSession on an unauthenticated one.
#[actix_web::test]
async fn a_login_lost_with_its_connection_is_made_again() {
    let fake = FakeKsc::start_demo().unwrap();
    let client = http_client(&fake);
    let contoso = vserver(&client, "Contoso").await;
    fake.inject(
        Fault::new("login", FaultKind::Close)
            .on_vserver("Contoso")
            .times(1),
    );
    // And a session whose connection closes mid-read carries on with its token.
    fake.inject(
        Fault::new("LicenseKeys.EnumKeys", FaultKind::Close)
            .on_vserver("Contoso")
            .times(1),
    );
    let usage = client
        .collect_usage(&contoso, &demo_applications())
        .await
        .unwrap();
    assert_eq!(usage, demo_expected_usage()["Contoso"]);
    assert_eq!(fake.sessions_started("Contoso"), 1);
    assert_eq!(fake.not_authenticated(), 0);
    assert_all_released(&fake);
    fake.stop().await;
}
