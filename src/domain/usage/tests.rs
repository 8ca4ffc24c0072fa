use chrono::{TimeZone, Utc};

use super::*;
use crate::domain::model::CategoryCounts;

use DeviceCategory::{NonWindows, WindowsServer, WindowsWorkstation};

#[test]
fn classify_follows_the_ctype_bits_and_the_os_name_fallback() {
    let cases: &[(i64, &str, DeviceCategory)] = &[
        (0x1003, "Microsoft Windows 11 Pro", WindowsWorkstation), // 0x2 set on ordinary PCs
        (0x1001, "", WindowsWorkstation),
        (0x400000, "", WindowsWorkstation),
        (0x400002, "", WindowsWorkstation),
        (0x9007, "Windows Server 2016", WindowsServer),
        (0x8000, "", WindowsServer),
        (0x1000 | 0x8, "", WindowsServer),  // domain controller
        (0x1000 | 0x10, "", WindowsServer), // backup domain controller
        (0x400000 | 0x8, "", WindowsServer),
        (0x8 | 0x10, "", NonWindows),    // DC bits without a Windows bit
        (0x2, "Windows 10", NonWindows), // the 0x2 bit alone says nothing
        (0x800, "Ubuntu 22.04", NonWindows),
        (0x200000, "Red Hat Enterprise Linux", NonWindows),
        (0x1, "macOS", NonWindows),
        (0x800, "Windows Server 2022", NonWindows), // a non-zero CTYPE wins over the name
        (0, "Microsoft Windows Server 2019 Standard", WindowsServer),
        (0, "Microsoft Windows 10 Enterprise", WindowsWorkstation),
        (0, "WINDOWS 7", WindowsWorkstation),
        (0, "Ubuntu Server 24.04", NonWindows),
        (0, "Android 14", NonWindows),
        (0, "", NonWindows),
    ];
    for &(ctype, os_name, expected) in cases {
        assert_eq!(
            classify(ctype, os_name),
            expected,
            "ctype {ctype:#x}, os {os_name:?}"
        );
    }
}

fn app(
    id: &str,
    licensing: LicensingModel,
    app_ids: &[&str],
    patterns: &[&str],
) -> ApplicationRules {
    ApplicationRules {
        id: id.into(),
        licensing,
        rules: MatchRules {
            app_ids: app_ids.iter().map(|s| s.to_string()).collect(),
            name_patterns: patterns.iter().map(|s| s.to_string()).collect(),
            skus: Vec::new(),
        },
        folds_into: None,
    }
}

fn catalogue() -> Vec<ApplicationRules> {
    use LicensingModel::*;
    vec![
        app("kes", PerDevice, &["1103"], &["Endpoint Security"]),
        app(
            "kes-linux",
            PerDevice,
            &["1105"],
            &["Endpoint Security for Linux"],
        ),
        app("kesb", PerDevice, &[], &["Endpoint Security for Business"]),
        app(
            "kesb-twin",
            PerDevice,
            &[],
            &["endpoint security FOR business"],
        ),
        app("mail", PerMailbox, &["2000"], &["Mail Server"]),
        app("users", PerUser, &["3000"], &["Per User"]),
        app("dup-a", PerDevice, &["4000"], &[]),
        app("dup-b", PerDevice, &["4000"], &[]),
    ]
}

fn matched(id: &str) -> Identity {
    Identity::Matched(id.into())
}

#[test]
fn identify_prefers_app_id_then_longest_pattern() {
    let apps = catalogue();
    let ambiguous = |ids: &[&str]| Identity::Ambiguous(ids.iter().map(|s| s.to_string()).collect());
    let cases: &[(&str, &str, Identity)] = &[
        ("1103", "anything", matched("kes")),
        (" 1103 ", "", matched("kes")),
        (
            "1105",
            "Kaspersky Endpoint Security for Business",
            matched("kes-linux"),
        ), // app id beats name
        (
            "",
            "Kaspersky Endpoint Security for Windows",
            matched("kes"),
        ),
        (
            "",
            "kaspersky ENDPOINT SECURITY for linux",
            matched("kes-linux"),
        ), // longest, any case
        (
            "9999",
            "Kaspersky Endpoint Security for Linux",
            matched("kes-linux"),
        ), // unknown id → name
        (
            "",
            "Kaspersky Endpoint Security for Business Select",
            ambiguous(&["kesb", "kesb-twin"]),
        ),
        (
            "4000",
            "Kaspersky Endpoint Security",
            ambiguous(&["dup-a", "dup-b"]),
        ),
        ("2000", "", matched("mail")),
        ("", "Kaspersky Security for Mail Server", matched("mail")),
        ("", "Kaspersky Anti-Virus", Identity::Unknown),
        // Versions, dashes and punctuation do not matter; whole words do.
        (
            "",
            "Kaspersky Endpoint Security 11.11 for Linux",
            matched("kes-linux"),
        ),
        (
            "",
            "Kaspersky Endpoint Security for Business - Select",
            ambiguous(&["kesb", "kesb-twin"]),
        ),
        (
            "",
            "Kaspersky Security 8 for Linux Mail-Server",
            matched("mail"),
        ),
        ("", "Kaspersky Endpoint Securityx", Identity::Unknown),
        ("", "Kaspersky Endpoint for Security", Identity::Unknown),
        ("", "", Identity::Unknown),
    ];
    for (app_id, name, expected) in cases {
        assert_eq!(
            &identify(app_id, name, "", &apps),
            expected,
            "app id {app_id:?}, name {name:?}"
        );
    }
}

#[test]
fn name_words_leave_out_case_punctuation_and_versions() {
    let cases: &[(&str, &[&str])] = &[
        (
            "Kaspersky Endpoint Security 12 for Windows",
            &["kaspersky", "endpoint", "security", "for", "windows"],
        ),
        (
            "Kaspersky Endpoint Security for Windows 11.2.0",
            &["kaspersky", "endpoint", "security", "for", "windows"],
        ),
        (
            "Kaspersky Endpoint Security for Business - Select Brazilian Edition. 25-49 Node 2 year",
            &[
                "kaspersky", "endpoint", "security", "for", "business", "select", "brazilian",
                "edition", "node", "year",
            ],
        ),
        (
            "Kaspersky Endpoint Security 10 SP2 MR1 for Mac, v10",
            &["kaspersky", "endpoint", "security", "for", "mac"],
        ),
        ("KASPERSKY SECURITY 2024", &["kaspersky", "security"]),
        ("  -- ", &[]),
    ];
    for (name, words) in cases {
        assert_eq!(name_words(name), *words, "{name}");
    }
}

#[test]
fn identify_ignores_blank_rules() {
    let apps = vec![app("blank", LicensingModel::PerDevice, &[""], &["", "  "])];
    assert_eq!(identify("", "Kaspersky", "", &apps), Identity::Unknown);
}

/// A licence tier with a SKU rule, and the platform application its keys named alike.
fn tiered_catalogue() -> Vec<ApplicationRules> {
    let mut select = app(
        "kesb-select",
        LicensingModel::PerDevice,
        &[],
        &["Kaspersky Endpoint Security for Business Select"],
    );
    select.rules.skus = vec!["KL4863".into()];
    select.folds_into = Some("kes-windows".into());
    let mut advanced = app("kesb-advanced", LicensingModel::PerDevice, &[], &[]);
    advanced.rules.skus = vec!["kl4867".into(), " ".into()];
    advanced.folds_into = Some("kes-windows".into());
    vec![
        app(
            "kes-windows",
            LicensingModel::PerDevice,
            &["1103"],
            &[
                "Kaspersky Endpoint Security for Windows",
                "Kaspersky Endpoint Security for Business",
            ],
        ),
        select,
        advanced,
    ]
}

#[test]
fn identify_by_sku_ranks_with_the_app_id() {
    let apps = tiered_catalogue();
    let cases: &[(&str, &str, &str, Identity)] = &[
        // (app id, name, part number)
        (
            "",
            "Kaspersky Endpoint Security for Business - Select",
            "",
            matched("kesb-select"),
        ),
        (
            "",
            "Kaspersky Endpoint Security for Business",
            "",
            matched("kes-windows"),
        ),
        (
            "",
            "Kaspersky Endpoint Security for Business",
            "KL4867XAKFS",
            matched("kesb-advanced"),
        ),
        (
            "",
            "Kaspersky Endpoint Security 12 for Windows",
            "kl4863kapdr",
            matched("kesb-select"),
        ),
        ("", "anything", " KL4863XAKFS ", matched("kesb-select")),
        // A SKU is a prefix, never a substring.
        (
            "",
            "Kaspersky Endpoint Security for Windows",
            "XKL4863",
            matched("kes-windows"),
        ),
        (
            "",
            "Kaspersky Endpoint Security for Windows",
            "KL486",
            matched("kes-windows"),
        ),
        // An app id and a SKU of two applications: equally strong, ambiguous.
        (
            "1103",
            "",
            "KL4863XAKFS",
            Identity::Ambiguous(vec!["kes-windows".into(), "kesb-select".into()]),
        ),
        ("", "", "", Identity::Unknown),
    ];
    for (app_id, name, part_number, expected) in cases {
        assert_eq!(
            &identify(app_id, name, part_number, &apps),
            expected,
            "{app_id:?} {name:?} {part_number:?}"
        );
    }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap()
}

fn key(
    serial: &str,
    name: &str,
    app_id: &str,
    key_type: i64,
    limit: Option<DateTime<Utc>>,
) -> LicenceKey {
    LicenceKey {
        serial: serial.into(),
        product_name: name.into(),
        app_id: app_id.into(),
        part_number: String::new(),
        key_type,
        limit_date: limit,
    }
}

fn on(serial: &str, host: &str, current: bool) -> KeyHost {
    KeyHost {
        serial: serial.into(),
        host_id: host.into(),
        current,
    }
}

fn host(id: &str, ctype: i64, os: &str) -> Host {
    Host {
        host_id: id.into(),
        ctype,
        os_name: os.into(),
    }
}

#[test]
fn key_billability_by_type_and_limit_date() {
    let later = Some(now() + chrono::Duration::days(1));
    let earlier = Some(now() - chrono::Duration::days(1));
    let cases: &[(i64, Option<DateTime<Utc>>, bool)] = &[
        (1, later, true),
        (6, later, true),
        (6, None, true),
        (1, None, true),
        (1, earlier, false),
        (6, Some(now()), false), // expires at the limit itself
        (2, later, false),
        (3, later, false),
        (4, None, false),
        (5, later, false),
        (0, later, false),
    ];
    for &(key_type, limit, expected) in cases {
        assert_eq!(
            key("s", "", "", key_type, limit).is_billable(now()),
            expected,
            "type {key_type}, limit {limit:?}"
        );
    }
}

fn counts(windows_workstation: u64, windows_server: u64, non_windows: u64) -> CategoryCounts {
    CategoryCounts {
        windows_workstation,
        windows_server,
        non_windows,
    }
}

#[test]
fn count_usage_counts_current_billable_hosts_once_per_application() {
    let far = Some(now() + chrono::Duration::days(365));
    let keys = vec![
        key(
            "K1",
            "Kaspersky Endpoint Security for Windows",
            "1103",
            1,
            far,
        ),
        key("K2", "Kaspersky Endpoint Security", "1103", 6, None), // second key of the same app
        key("K3", "Kaspersky Endpoint Security for Linux", "", 1, far),
        key("TRIAL", "Kaspersky Endpoint Security", "1103", 3, far),
        key(
            "OLD",
            "Kaspersky Endpoint Security",
            "1103",
            1,
            Some(now() - chrono::Duration::days(1)),
        ),
        key("MAIL", "Kaspersky Security for Mail Server", "", 1, far),
        key("USER", "Something Per User", "", 6, None),
        key("ANTIVIRUS", "Kaspersky Anti-Virus", "", 1, far),
        key("ANTIVIRUS-TRIAL", "Kaspersky Anti-Virus", "", 3, far), // not billable: not reported
        key(
            "SELECT",
            "Endpoint Security for Business Select",
            "",
            1,
            far,
        ),
    ];
    let key_hosts = vec![
        on("K1", "ws-1", true),
        on("K2", "ws-1", true), // same host, same app, two keys: counted once
        on("K1", "ws-2", true),
        on("K1", "ws-3", false), // not its current key
        on("K2", "srv-1", true),
        on("K2", "dc-1", true),
        on("K3", "lin-1", true),
        on("K3", "ghost", true), // not in the host list: skipped
        on("TRIAL", "ws-4", true),
        on("OLD", "ws-5", true),
        on("MAIL", "srv-1", true),
        on("USER", "ws-1", true),
        on("USER", "ws-2", true),
        on("ANTIVIRUS", "ws-4", true),
        on("ANTIVIRUS", "ws-5", true),
        on("ANTIVIRUS", "ws-3", false),
        on("ANTIVIRUS-TRIAL", "ws-4", true),
        on("SELECT", "ws-5", true),
    ];
    let hosts = vec![
        host("ws-1", 0x1003, "Windows 11"),
        host("ws-2", 0, "Microsoft Windows 10"),
        host("ws-3", 0x1003, "Windows 11"),
        host("ws-4", 0x1003, "Windows 11"),
        host("ws-5", 0x1003, "Windows 11"),
        host("srv-1", 0x9007, "Windows Server 2016"),
        host("dc-1", 0x1000 | 0x8 | 0x3, "Windows Server 2012"),
        host("lin-1", 0x800, "Ubuntu"),
    ];

    let usage = count_usage(&keys, &key_hosts, &hosts, &catalogue(), now());

    let expected_devices: BTreeMap<ApplicationId, CategoryCounts> = [
        ("kes".to_string(), counts(2, 2, 0)),
        ("kes-linux".to_string(), counts(0, 0, 1)),
    ]
    .into();
    assert_eq!(usage.devices, expected_devices);
    assert_eq!(usage.mailboxes, [("mail".to_string(), 1)].into());
    assert_eq!(usage.users, [("users".to_string(), 2)].into());
    assert_eq!(
        usage.unknown_keys,
        vec![UnattributedKey {
            serial: "ANTIVIRUS".into(),
            product_name: "Kaspersky Anti-Virus".into(),
            app_id: "".into(),
            candidates: vec![],
            hosts: 2,
        }]
    );
    assert_eq!(
        usage.ambiguous_keys,
        vec![UnattributedKey {
            serial: "SELECT".into(),
            product_name: "Endpoint Security for Business Select".into(),
            app_id: "".into(),
            candidates: vec!["kesb".into(), "kesb-twin".into()],
            hosts: 1,
        }]
    );
}

#[test]
fn count_usage_of_nothing_is_empty() {
    assert_eq!(
        count_usage(&[], &[], &[], &catalogue(), now()),
        TenantUsage::default()
    );
    let keys = vec![key("K1", "Kaspersky Endpoint Security", "1103", 1, None)];
    let hosts = vec![host("ws-1", 0x1003, "Windows 11")];
    // A matched key without current hosts adds no zero entries.
    assert_eq!(
        count_usage(
            &keys,
            &[on("K1", "ws-1", false)],
            &hosts,
            &catalogue(),
            now()
        ),
        TenantUsage::default()
    );
}

#[test]
fn tiers_count_on_their_own_and_folded_into_their_application_each_host_once() {
    let keys = [
        key(
            "W",
            "Kaspersky Endpoint Security 12 for Windows",
            "",
            1,
            None,
        ),
        key(
            "S",
            "Kaspersky Endpoint Security for Business - Select",
            "",
            6,
            None,
        ),
        key(
            "A",
            "Kaspersky Endpoint Security for Business - Advanced",
            "",
            1,
            None,
        ),
    ];
    let mut advanced_sku = keys[2].clone();
    advanced_sku.part_number = "KL4867XAKFS".into();
    let keys = [keys[0].clone(), keys[1].clone(), advanced_sku];
    let key_hosts = [
        on("W", "pc-1", true),
        on("W", "srv-1", true),
        // pc-1 holds a Select key too: one device however it is read.
        on("S", "pc-1", true),
        on("S", "pc-2", true),
        on("A", "pc-3", true),
        on("A", "pc-4", false),
    ];
    let hosts = [
        host("pc-1", 0x1003, ""),
        host("pc-2", 0x1003, ""),
        host("pc-3", 0x1003, ""),
        host("pc-4", 0x1003, ""),
        host("srv-1", 0x9003, ""),
    ];
    let usage = count_usage(&keys, &key_hosts, &hosts, &tiered_catalogue(), now());
    assert_eq!(usage.devices["kes-windows"], counts(1, 1, 0));
    assert_eq!(usage.devices["kesb-select"], counts(2, 0, 0));
    assert_eq!(usage.devices["kesb-advanced"], counts(1, 0, 0));
    assert_eq!(
        usage.folded_devices,
        [("kes-windows".to_string(), counts(3, 1, 0))].into(),
        "pc-1, pc-2, pc-3 and srv-1 as Endpoint Security for Windows counted them before"
    );
    assert!(usage.unknown_keys.is_empty() && usage.ambiguous_keys.is_empty());

    // Without tier hosts there is nothing to fold.
    let plain = count_usage(
        &keys[..1],
        &key_hosts[..2],
        &hosts,
        &tiered_catalogue(),
        now(),
    );
    assert!(plain.folded_devices.is_empty());
}
