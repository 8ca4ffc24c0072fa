//! Setup of the sync benchmark: one fake KSC tenant's hosts, the server's connections, catalog,
//! billing by category and product mappings, and one company mapping per discovered tenant.

use super::*;

pub(super) fn tenant(i: usize) -> FakeTenant {
    let mut t = FakeTenant::default();
    let mut windows = Vec::new();
    let mut linux = Vec::new();
    for h in 0..HOSTS {
        let id = format!("t{i}-h{h}");
        let (os, ctype) = if h < WORKSTATIONS {
            ("Microsoft Windows 11 Pro", 0x1003)
        } else if h < WORKSTATIONS + SERVERS {
            ("Microsoft Windows Server 2022 Standard", 0x9007)
        } else {
            ("Ubuntu 24.04 LTS", 0x200800)
        };
        t = t.host(&id, &id.to_uppercase(), os, ctype);
        if h < WORKSTATIONS + SERVERS {
            windows.push(id);
        } else {
            linux.push(id);
        }
    }
    t.key(
        FakeKey::new(
            &format!("T{i}-KES"),
            "Kaspersky Endpoint Security for Windows",
            1103,
            1,
        )
        .current_on(&windows.iter().map(String::as_str).collect::<Vec<_>>()),
    )
    .key(
        FakeKey::new(
            &format!("T{i}-KESL"),
            "Kaspersky Endpoint Security for Linux",
            1105,
            1,
        )
        .current_on(&linux.iter().map(String::as_str).collect::<Vec<_>>()),
    )
}

/// The connections, the catalog, the tenants, billing by category and the product mappings.
pub(super) async fn configure(
    bench: &Bench,
    ksc: &FakeKsc,
    cw: &FakeConnectWise,
    products: &[i64],
    limits: Limits,
) {
    let o = cw.options();
    let connectwise = json!({"site_url": cw.base_url(), "company_id": o.company_id,
        "public_key": o.public_key, "private_key": o.private_key,
        "client_id": o.client_id, "max_concurrency": limits.cw});
    let kaspersky = json!({"server_url": ksc.base_url(), "user": KSC_USER,
        "password": KSC_PASSWORD, "max_concurrency": limits.ksc});
    let (ws, srv, nonwin) = (products[0], products[1], products[2]);
    let steps = [
        (
            Method::PUT,
            "/api/v1/connections/connectwise".to_string(),
            Some(connectwise),
        ),
        (
            Method::POST,
            "/api/v1/connectwise/products/refresh".into(),
            None,
        ),
        (
            Method::PUT,
            "/api/v1/connections/kaspersky".into(),
            Some(kaspersky),
        ),
        (Method::POST, "/api/v1/tenants/refresh".into(), None),
        (
            Method::PUT,
            "/api/v1/settings/billing".into(),
            Some(json!({"bill_devices_by_category": true})),
        ),
        (
            Method::PUT,
            "/api/v1/product-mappings/kes-windows".into(),
            Some(json!({"product_id": ws, "workstation_product_id": ws,
                "server_product_id": srv, "non_windows_product_id": nonwin})),
        ),
        (
            Method::PUT,
            "/api/v1/product-mappings/kes-linux".into(),
            Some(
                json!({"product_id": nonwin, "workstation_product_id": nonwin,
                "server_product_id": nonwin, "non_windows_product_id": nonwin}),
            ),
        ),
    ];
    for (method, path, body) in steps {
        bench.expect(method, &path, body.as_ref(), 200).await;
    }
}

/// One company mapping per discovered tenant, in name order, through the API.
pub(super) async fn map_companies(bench: &Bench, database_url: &str, agreements: &[(i64, i64)]) {
    let mut discovered = {
        let pool = db::connect_pool(database_url, 1).expect("the benchmark database");
        let mut conn = pool.get().expect("a database connection");
        db::tenants::of_solution(&mut conn, Solution::Ksc).expect("the tenants")
    };
    discovered.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(
        discovered.len(),
        agreements.len(),
        "every virtual server discovered"
    );
    let created = stream::iter(discovered.iter().zip(agreements))
        .map(|(tenant, &(company, agreement))| {
            let body = json!({"tenant_id": tenant.id, "cw_company_id": company,
                "agreement_id": agreement});
            async move {
                bench
                    .send(Method::POST, "/api/v1/company-mappings", Some(&body))
                    .await
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;
    let failed: Vec<_> = created
        .iter()
        .filter(|(status, _)| *status != 201)
        .collect();
    assert!(
        failed.is_empty(),
        "company mappings refused: {:?}",
        failed.first()
    );
}
