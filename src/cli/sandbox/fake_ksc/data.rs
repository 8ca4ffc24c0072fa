//! Seed data of the fake KSC server, with a builder and a demo dataset of known counts.

use std::collections::BTreeMap;

use crate::domain::model::{CategoryCounts, LicensingModel, MatchRules, TenantUsage};
use crate::domain::usage::ApplicationRules;

/// Everything the fake server knows.
#[derive(Debug, Clone)]
pub struct FakeKscData {
    pub user: String,
    pub password: String,
    /// Hosts and keys attached directly to the main server (no tenant).
    pub main: FakeTenant,
    pub vservers: Vec<FakeVServer>,
}

#[derive(Debug, Clone)]
pub struct FakeVServer {
    pub id: i64,
    pub uid: String,
    pub name: String,
    pub enabled: bool,
    pub tenant: FakeTenant,
}

#[derive(Debug, Clone, Default)]
pub struct FakeTenant {
    pub hosts: Vec<FakeHost>,
    pub keys: Vec<FakeKey>,
}

#[derive(Debug, Clone)]
pub struct FakeHost {
    /// `KLHST_WKS_HOSTNAME`
    pub id: String,
    /// `KLHST_WKS_DN`, may repeat.
    pub display_name: String,
    pub os_name: String,
    pub ctype: i64,
}

#[derive(Debug, Clone)]
pub struct FakeKey {
    pub serial: String,
    pub product_name: String,
    pub app_id: i64,
    /// `KLLIC_PART_NUMBER`, as KSC 15.4 and later return it; `None`: left out (older KSC).
    pub part_number: Option<String>,
    pub key_type: i64,
    /// `None`: no end date (sent as an empty datetime).
    pub limit_date: Option<String>,
    /// (host id, the key is the host's current key)
    pub hosts: Vec<(String, bool)>,
}

impl FakeKscData {
    pub fn new(user: &str, password: &str) -> Self {
        FakeKscData {
            user: user.into(),
            password: password.into(),
            main: FakeTenant::default(),
            vservers: Vec::new(),
        }
    }

    pub fn main_server(mut self, tenant: FakeTenant) -> Self {
        self.main = tenant;
        self
    }

    pub fn vserver(mut self, id: i64, name: &str, enabled: bool, tenant: FakeTenant) -> Self {
        let uid = format!("00000000-0000-4000-8000-{id:012}");
        self.vservers.push(FakeVServer {
            id,
            uid,
            name: name.into(),
            enabled,
            tenant,
        });
        self
    }
}

impl FakeTenant {
    pub fn host(mut self, id: &str, display_name: &str, os_name: &str, ctype: i64) -> Self {
        self.hosts.push(FakeHost {
            id: id.into(),
            display_name: display_name.into(),
            os_name: os_name.into(),
            ctype,
        });
        self
    }

    pub fn key(mut self, key: FakeKey) -> Self {
        self.keys.push(key);
        self
    }
}

impl FakeKey {
    pub fn new(serial: &str, product_name: &str, app_id: i64, key_type: i64) -> Self {
        FakeKey {
            serial: serial.into(),
            product_name: product_name.into(),
            app_id,
            part_number: None,
            key_type,
            limit_date: Some("2099-12-31T00:00:00Z".into()),
            hosts: Vec::new(),
        }
    }

    /// The licence SKU part number KSC 15.4 and later return.
    pub fn part_number(mut self, part_number: &str) -> Self {
        self.part_number = Some(part_number.into());
        self
    }

    /// `None` for a key without end date.
    pub fn limit(mut self, limit_date: Option<&str>) -> Self {
        self.limit_date = limit_date.map(String::from);
        self
    }

    pub fn current_on(mut self, hosts: &[&str]) -> Self {
        self.hosts
            .extend(hosts.iter().map(|host| (host.to_string(), true)));
        self
    }

    /// Installed on the hosts but not their active key.
    pub fn reserve_on(mut self, hosts: &[&str]) -> Self {
        self.hosts
            .extend(hosts.iter().map(|host| (host.to_string(), false)));
        self
    }
}

pub const DEMO_USER: &str = "ksc-admin";
pub const DEMO_PASSWORD: &str = "demo-password";

const COMMERCIAL: i64 = 1;
const TRIAL: i64 = 3;
const SUBSCRIPTION: i64 = 6;
const KES_WINDOWS: i64 = 1103;
const KES_LINUX: i64 = 1105;
// Product names as KSC licence keys carry them (sources beside the seeded match rules in
// migrations/*/2026-12-03-000012_real_product_names): versions and dashes vary by key.
const KES_12: &str = "Kaspersky Endpoint Security 12 for Windows";
const KES_11_11: &str = "Kaspersky Endpoint Security 11.11 for Windows";

/// Two billable tenants (Contoso, Fabrikam), an empty one (Tailspin), a disabled one
/// (Northwind) and main-server hosts; see [`demo_expected_usage`] for the counts. Every key
/// carries a real Kaspersky product name that a fresh installation's match rules recognise.
pub fn demo() -> FakeKscData {
    let contoso = FakeTenant::default()
        .host("c-ws-1", "RECEPTION", "Microsoft Windows 11 Pro", 0x1003)
        .host(
            "c-ws-2",
            "RECEPTION",
            "Microsoft Windows 10 Enterprise",
            0x401003,
        ) // same display name
        .host("c-ws-3", "OLD-PC", "Microsoft Windows 7 Professional", 0) // CTYPE unknown
        .host(
            "c-srv-1",
            "FILES",
            "Microsoft Windows Server 2016 Standard",
            0x9007,
        )
        .host("c-dc-1", "DC1", "Microsoft Windows Server 2012 R2", 0x100B) // domain controller
        .host("c-srv-2", "LEGACY", "Microsoft Windows Server 2008", 0) // CTYPE unknown
        .host("c-lin-1", "WEB", "Ubuntu 22.04 LTS", 0x200800)
        .host("c-mac-1", "DESIGN", "macOS 14 Sonoma", 0x1)
        .key(
            FakeKey::new("C-KES-1", KES_12, KES_WINDOWS, COMMERCIAL)
                .current_on(&["c-ws-1", "c-ws-2", "c-ws-3", "c-srv-1", "c-dc-1", "c-srv-2"]),
        )
        // A second key of the same application on c-ws-1: still one device.
        .key(
            FakeKey::new("C-KES-SUB", KES_11_11, KES_WINDOWS, SUBSCRIPTION)
                .limit(None)
                .current_on(&["c-ws-1"]),
        )
        .key(
            FakeKey::new("C-KES-RESERVE", KES_12, KES_WINDOWS, COMMERCIAL).reserve_on(&["c-mac-1"]),
        )
        .key(
            FakeKey::new(
                "C-KESL",
                "Kaspersky Endpoint Security 12.0 for Linux",
                KES_LINUX,
                COMMERCIAL,
            )
            .current_on(&["c-lin-1"]),
        )
        .key(
            FakeKey::new(
                "C-TRIAL",
                "Kaspersky Endpoint Security 12 for Mac",
                0,
                TRIAL,
            )
            .current_on(&["c-mac-1"]),
        )
        .key(
            FakeKey::new(
                "C-EXPIRED",
                "Kaspersky Endpoint Security 11 for Mac",
                0,
                COMMERCIAL,
            )
            .limit(Some("2020-01-31T00:00:00Z"))
            .current_on(&["c-mac-1"]),
        )
        .key(
            FakeKey::new(
                "C-KSWS",
                "Kaspersky Security 11 for Windows Server",
                0,
                COMMERCIAL,
            )
            .current_on(&["c-srv-1"]),
        );

    let fabrikam = FakeTenant::default()
        .host("f-ws-1", "F-PC1", "Microsoft Windows 11 Pro", 0x1003)
        .host("f-ws-2", "F-PC2", "Microsoft Windows 11 Pro", 0x1003)
        .host("f-mac-1", "F-MAC", "macOS 15", 0x1)
        .host("f-mac-2", "F-MAC2", "macOS 15", 0)
        .host("f-srv-1", "F-SRV", "Windows Server 2022", 0x9003)
        .key(
            FakeKey::new(
                "F-KES",
                "Kaspersky Endpoint Security 12.1 for Windows",
                KES_WINDOWS,
                SUBSCRIPTION,
            )
            .limit(None)
            .current_on(&["f-ws-1"]),
        )
        // A licence tier the MSP resells at its own price: an application of its own, which a
        // fresh installation recognises and leaves unbilled until mapped.
        .key(
            FakeKey::new("F-NEXT", "Kaspersky Next EDR Optimum", 0, SUBSCRIPTION)
                .limit(None)
                .part_number("KL4066ZANFS")
                .current_on(&["f-ws-2"]),
        )
        .key(
            FakeKey::new(
                "F-MAC",
                "Kaspersky Endpoint Security 11 for Mac",
                0,
                COMMERCIAL,
            )
            .current_on(&["f-mac-1", "f-mac-2"]),
        )
        .key(
            FakeKey::new(
                "F-KSV",
                "Kaspersky Security for Virtualization 6.2 Light Agent",
                0,
                COMMERCIAL,
            )
            .current_on(&["f-srv-1"]),
        );

    let northwind = FakeTenant::default()
        .host("n-ws-1", "N-PC", "Microsoft Windows 11 Pro", 0x1003)
        .key(
            FakeKey::new(
                "N-KESB",
                "Kaspersky Endpoint Security for Business - Advanced",
                0,
                COMMERCIAL,
            )
            .current_on(&["n-ws-1"]),
        );

    let main = FakeTenant::default()
        .host("m-ws-1", "ADMIN-PC", "Microsoft Windows 11 Pro", 0x1003)
        .key(
            FakeKey::new(
                "M-KTSB",
                "Kaspersky Total Security for Business",
                0,
                COMMERCIAL,
            )
            .current_on(&["m-ws-1"]),
        );

    FakeKscData::new(DEMO_USER, DEMO_PASSWORD)
        .main_server(main)
        .vserver(10, "Contoso", true, contoso)
        .vserver(11, "Fabrikam", true, fabrikam)
        .vserver(12, "Tailspin", true, FakeTenant::default())
        .vserver(13, "Northwind", false, northwind)
}

/// The KSC applications and match rules a fresh installation has (the seed migrations; a test
/// of the API checks that they agree): the demo counts are computed with them.
pub fn demo_applications() -> Vec<ApplicationRules> {
    use LicensingModel::{PerDevice, PerMailbox};
    let rules = |app_ids: &[&str], patterns: &[&str], skus: &[&str]| MatchRules {
        app_ids: app_ids.iter().map(|s| s.to_string()).collect(),
        name_patterns: patterns.iter().map(|s| s.to_string()).collect(),
        skus: skus.iter().map(|s| s.to_string()).collect(),
    };
    let app = |id: &str, licensing, patterns: &[&str]| ApplicationRules {
        id: id.into(),
        licensing,
        rules: rules(&[], patterns, &[]),
        folds_into: None,
    };
    let tier =
        |id: &str, patterns: &[&str], skus: &[&str], folds_into: Option<&str>| ApplicationRules {
            id: id.into(),
            licensing: PerDevice,
            rules: rules(&[], patterns, skus),
            folds_into: folds_into.map(String::from),
        };
    vec![
        app(
            "kes-linux",
            PerDevice,
            &["Kaspersky Endpoint Security for Linux"],
        ),
        app(
            "kes-mac",
            PerDevice,
            &["Kaspersky Endpoint Security for Mac"],
        ),
        app(
            "kes-mobile",
            PerDevice,
            &[
                "Kaspersky Endpoint Security for Mobile",
                "Kaspersky Security for Mobile",
                "Kaspersky Endpoint Security for Android",
                "Kaspersky Security for iOS",
                "Kaspersky Secure Mobility Management",
            ],
        ),
        app(
            "kes-windows",
            PerDevice,
            &[
                "Kaspersky Endpoint Security for Windows",
                "Kaspersky Endpoint Security for Business",
            ],
        ),
        tier(
            "kesb-advanced",
            &["Kaspersky Endpoint Security for Business Advanced"],
            &["KL4867"],
            Some("kes-windows"),
        ),
        tier(
            "kesb-select",
            &["Kaspersky Endpoint Security for Business Select"],
            &["KL4863"],
            Some("kes-windows"),
        ),
        app("kess", PerDevice, &["Kaspersky Embedded Systems Security"]),
        tier(
            "khcs",
            &["Kaspersky Hybrid Cloud Security"],
            &[],
            Some("ksv"),
        ),
        app(
            "kics-nodes",
            PerDevice,
            &[
                "Kaspersky Industrial CyberSecurity for Nodes",
                "Kaspersky Industrial CyberSecurity for Linux Nodes",
                "Kaspersky Industrial Cyber Security for Nodes",
            ],
        ),
        app(
            "ks-exchange",
            PerMailbox,
            &[
                "Kaspersky Security for Microsoft Exchange Servers",
                "Kaspersky Security for Microsoft Exchange Server",
            ],
        ),
        app(
            "ks-mail-server",
            PerMailbox,
            &[
                "Kaspersky Security for Linux Mail Server",
                "Kaspersky Security for Mail Server",
            ],
        ),
        tier(
            "ksos",
            &["Kaspersky Small Office Security"],
            &["KL4541", "KL4542"],
            None,
        ),
        app("ksv", PerDevice, &["Kaspersky Security for Virtualization"]),
        app(
            "ksws",
            PerDevice,
            &["Kaspersky Security for Windows Server"],
        ),
        tier(
            "ktsb",
            &["Kaspersky Total Security for Business"],
            &["KL4869"],
            Some("kes-windows"),
        ),
        tier(
            "next-edr-expert",
            &[
                "Kaspersky Next EDR Expert",
                "Kaspersky Endpoint Detection and Response Expert",
                "Kaspersky EDR Expert",
            ],
            &[],
            None,
        ),
        tier(
            "next-edr-foundations",
            &["Kaspersky Next EDR Foundations"],
            &[],
            None,
        ),
        tier(
            "next-edr-optimum",
            &[
                "Kaspersky Next EDR Optimum",
                "Kaspersky Endpoint Detection and Response Optimum",
                "Kaspersky EDR Optimum",
                "Kaspersky Optimum Security",
            ],
            &[],
            None,
        ),
        tier("next-xdr-expert", &["Kaspersky Next XDR Expert"], &[], None),
        tier(
            "next-xdr-optimum",
            &["Kaspersky Next XDR Optimum", "Kaspersky Next MXDR Optimum"],
            &[],
            None,
        ),
    ]
}

/// Usage per enabled demo virtual server, counted with [`demo_applications`].
pub fn demo_expected_usage() -> BTreeMap<String, TenantUsage> {
    let devices = |entries: &[(&str, u64, u64, u64)]| {
        entries
            .iter()
            .map(|&(app, windows_workstation, windows_server, non_windows)| {
                (
                    app.to_string(),
                    CategoryCounts {
                        windows_workstation,
                        windows_server,
                        non_windows,
                    },
                )
            })
            .collect()
    };
    let contoso = TenantUsage {
        devices: devices(&[
            ("kes-windows", 3, 3, 0),
            ("kes-linux", 0, 0, 1),
            ("ksws", 0, 1, 0),
        ]),
        ..TenantUsage::default()
    };
    let fabrikam = TenantUsage {
        devices: devices(&[
            ("kes-windows", 1, 0, 0),
            ("kes-mac", 0, 0, 2),
            ("ksv", 0, 1, 0),
            ("next-edr-optimum", 1, 0, 0),
        ]),
        ..TenantUsage::default()
    };
    [
        ("Contoso", contoso),
        ("Fabrikam", fabrikam),
        ("Tailspin", TenantUsage::default()),
    ]
    .into_iter()
    .map(|(name, usage)| (name.to_string(), usage))
    .collect()
}

/// The name of numbered tenant `i` (see [`numbered_tenants`]).
pub fn numbered_name(i: usize) -> String {
    format!("Tenant {i:04}")
}

/// `count` enabled virtual servers whose usage differs from every other's, so a tenant read
/// with another tenant's data shows: tenant `i` has `i + 1` Windows workstations, `i % 3`
/// Windows servers (Endpoint Security for Windows) and `i % 5` Linux hosts (for Linux).
pub fn numbered_tenants(count: usize) -> FakeKscData {
    (0..count).fold(FakeKscData::new(DEMO_USER, DEMO_PASSWORD), |data, i| {
        let (workstations, servers, linux) = numbered_counts(i);
        let mut tenant = FakeTenant::default();
        let mut windows = Vec::new();
        let mut linux_hosts = Vec::new();
        for n in 0..workstations {
            let id = format!("t{i}-ws-{n}");
            tenant = tenant.host(&id, &format!("PC-{n}"), "Microsoft Windows 11 Pro", 0x1003);
            windows.push(id);
        }
        for n in 0..servers {
            let id = format!("t{i}-srv-{n}");
            tenant = tenant.host(&id, &format!("SRV-{n}"), "Windows Server 2022", 0x9003);
            windows.push(id);
        }
        for n in 0..linux {
            let id = format!("t{i}-lin-{n}");
            tenant = tenant.host(&id, &format!("LIN-{n}"), "Ubuntu 24.04 LTS", 0x200800);
            linux_hosts.push(id);
        }
        tenant = tenant.key(
            FakeKey::new(&format!("T{i}-KES"), KES_12, KES_WINDOWS, COMMERCIAL)
                .current_on(&as_strs(&windows)),
        );
        if !linux_hosts.is_empty() {
            tenant = tenant.key(
                FakeKey::new(
                    &format!("T{i}-KESL"),
                    "Kaspersky Endpoint Security 12.0 for Linux",
                    KES_LINUX,
                    SUBSCRIPTION,
                )
                .limit(None)
                .current_on(&as_strs(&linux_hosts)),
            );
        }
        data.vserver(1000 + i as i64, &numbered_name(i), true, tenant)
    })
}

fn as_strs(ids: &[String]) -> Vec<&str> {
    ids.iter().map(String::as_str).collect()
}

fn numbered_counts(i: usize) -> (u64, u64, u64) {
    (i as u64 + 1, i as u64 % 3, i as u64 % 5)
}

/// The usage of each of [`numbered_tenants`], by name, counted with [`demo_applications`].
pub fn numbered_expected_usage(count: usize) -> BTreeMap<String, TenantUsage> {
    (0..count)
        .map(|i| {
            let (workstations, servers, linux) = numbered_counts(i);
            let mut usage = TenantUsage::default();
            usage.devices.insert(
                "kes-windows".into(),
                CategoryCounts {
                    windows_workstation: workstations,
                    windows_server: servers,
                    non_windows: 0,
                },
            );
            if linux > 0 {
                usage.devices.insert(
                    "kes-linux".into(),
                    CategoryCounts {
                        non_windows: linux,
                        ..CategoryCounts::default()
                    },
                );
            }
            (numbered_name(i), usage)
        })
        .collect()
}
