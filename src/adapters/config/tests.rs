use super::*;
use std::collections::HashMap;

fn settings(vars: &[(&str, &str)]) -> Result<Settings, String> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::from_lookup(|k| map.get(k).cloned())
}

#[test]
fn defaults_are_sqlite_on_loopback() {
    let s = settings(&[]).unwrap();
    assert_eq!(s.bind.to_string(), DEFAULT_BIND);
    assert_eq!(s.database_url, "sqlite://./data/bridge.db");
    assert!(!s.is_postgres());
    assert!(s.scheduler);
    assert!(!settings(&[("BRIDGE_SCHEDULER", "off")]).unwrap().scheduler);
}

#[test]
fn every_problem_is_reported_in_one_line() {
    let err = settings(&[
        ("DATABASE_URL", "mysql://x"),
        ("BRIDGE_BIND", "nope"),
        ("BRIDGE_JWT_SECRET", "short"),
        ("BRIDGE_LOG_FORMAT", "xml"),
        ("BRIDGE_SCHEDULER", "sometimes"),
        ("BRIDGE_TRUSTED_PROXIES", "10.0.0.0/8, proxy.local"),
    ])
    .unwrap_err();
    for needle in [
        "DATABASE_URL",
        "BRIDGE_BIND",
        "BRIDGE_JWT_SECRET",
        "BRIDGE_LOG_FORMAT",
        "BRIDGE_SCHEDULER",
        "BRIDGE_TRUSTED_PROXIES entry `proxy.local`",
    ] {
        assert!(err.contains(needle), "{err}");
    }
    assert!(!err.contains('\n'));
}

#[test]
fn database_urls() {
    let cases = [
        ("postgres://u:p@localhost/db", true),
        ("postgresql://localhost/db", true),
        ("sqlite://data/x.db", true),
        ("sqlite:x.db", true),
        ("x.db", true),
        ("mysql://localhost/db", false),
        ("sqlite://", false),
    ];
    for (url, ok) in cases {
        assert_eq!(validate_database_url(url).is_ok(), ok, "{url}");
    }
}

#[test]
fn secrets_never_reach_debug_output() {
    let s = settings(&[
        ("DATABASE_URL", "postgres://bob:pg-secret@db/x"),
        ("BRIDGE_ADMIN_PASSWORD", "admin-secret-123"),
        ("BRIDGE_JWT_SECRET", "jwt-secret-jwt-secret-jwt-secret-jwt"),
        ("BRIDGE_ENCRYPTION_KEY", &"ab".repeat(32)),
    ])
    .unwrap();
    let text = format!("{s:?}");
    for secret in [
        "pg-secret",
        "admin-secret-123",
        "jwt-secret",
        &"ab".repeat(32),
    ] {
        assert!(!text.contains(secret), "{text}");
    }
}

#[test]
fn flags_beat_the_environment() {
    let environment = |name: &str| match name {
        "BRIDGE_BIND" => Some("127.0.0.1:1111".to_string()),
        "BRIDGE_DATA_DIR" => Some("/from/env".to_string()),
        "DATABASE_URL" => Some("sqlite://env.db".to_string()),
        _ => None,
    };
    let flags = Overrides {
        bind: Some("127.0.0.1:2222".into()),
        data_dir: Some("/from/flag".into()),
        database_url: Some("postgres://db/flag".into()),
    };
    let s = Settings::from_lookup_with(environment, &flags).unwrap();
    assert_eq!(s.bind.to_string(), "127.0.0.1:2222");
    assert_eq!(s.data_dir, Path::new("/from/flag"));
    assert_eq!(s.database_url, "postgres://db/flag");
    let s = Settings::from_lookup_with(environment, &Overrides::default()).unwrap();
    assert_eq!(s.bind.to_string(), "127.0.0.1:1111");
    assert_eq!(s.database_url, "sqlite://env.db");
    let bad = Overrides {
        bind: Some("nope".into()),
        ..Overrides::default()
    };
    let err = Settings::from_lookup_with(environment, &bad).unwrap_err();
    assert!(err.contains("--bind"), "{err}");
}

#[test]
fn every_secret_can_come_from_a_file_without_its_line_break() {
    let dir = tempfile::tempdir().unwrap();
    let values = [
        ("DATABASE_URL", "postgres://bob:pw@db/x".to_string()),
        ("BRIDGE_ADMIN_PASSWORD", "admin password from a file".into()),
        ("BRIDGE_JWT_SECRET", "j".repeat(40)),
        ("BRIDGE_ENCRYPTION_KEY", "ab".repeat(32)),
    ];
    let mut vars = Vec::new();
    for (name, value) in &values {
        let file = dir.path().join(name);
        std::fs::write(&file, format!("{value}\n")).unwrap();
        vars.push((format!("{name}_FILE"), file.display().to_string()));
    }
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let s = settings(&vars).unwrap();
    assert_eq!(s.database_url, values[0].1);
    assert_eq!(s.admin_password.as_deref(), Some(values[1].1.as_str()));
    assert_eq!(s.jwt_secret.as_deref(), Some(values[2].1.as_str()));
    assert_eq!(s.encryption_key.as_deref(), Some(values[3].1.as_str()));
    assert_eq!(
        SECRET_VARIABLES.to_vec(),
        values.iter().map(|(name, _)| *name).collect::<Vec<_>>()
    );
    // A flag beats the file.
    let flag = Overrides {
        database_url: Some("sqlite://flag.db".into()),
        ..Overrides::default()
    };
    let map: HashMap<&str, &str> = vars.iter().copied().collect();
    let s = Settings::from_lookup_with(|k| map.get(k).map(|v| v.to_string()), &flag).unwrap();
    assert_eq!(s.database_url, "sqlite://flag.db");
}

#[test]
fn secret_files_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let missing = dir.path().join("missing").display().to_string();
    let empty = empty.display().to_string();
    let both = settings(&[
        ("BRIDGE_JWT_SECRET", &"j".repeat(40)),
        ("BRIDGE_JWT_SECRET_FILE", &empty),
    ])
    .unwrap_err();
    assert!(
        both.contains("set BRIDGE_JWT_SECRET or BRIDGE_JWT_SECRET_FILE, not both"),
        "{both}"
    );
    let unreadable = settings(&[("DATABASE_URL_FILE", &missing)]).unwrap_err();
    assert!(
        unreadable.contains("DATABASE_URL_FILE names a file that cannot be read")
            && unreadable.contains(&missing),
        "{unreadable}"
    );
    let blank = settings(&[("BRIDGE_ADMIN_PASSWORD_FILE", &empty)]).unwrap_err();
    assert!(
        blank.contains("BRIDGE_ADMIN_PASSWORD_FILE names an empty file"),
        "{blank}"
    );
}

#[test]
fn the_help_lists_every_variable_read_here() {
    let source = include_str!("../config.rs");
    let help = variables_help();
    let mut read = 0;
    for (start, _) in source
        .match_indices("\"BRIDGE_")
        .chain(source.match_indices("\"DATABASE_URL"))
    {
        let rest = &source[start + 1..];
        let end = rest
            .find(|c: char| !(c.is_ascii_uppercase() || c == '_'))
            .unwrap_or(rest.len());
        let (quoted, after) = rest.split_at(end);
        if after.starts_with('"') && !quoted.ends_with('_') {
            read += 1;
            let name = quoted.strip_suffix("_FILE").unwrap_or(quoted);
            assert!(
                help.contains(&format!("  {name} ")),
                "{name} is not in the help"
            );
        }
    }
    assert!(read >= VARIABLES.len(), "{read}");
    for name in SECRET_VARIABLES {
        assert!(help.contains(&format!("{name}_FILE")), "{help}");
    }
}

#[test]
fn urls_are_redacted() {
    assert_eq!(
        redact_url("postgres://bob:secret@db:5432/x"),
        "postgres://bob:***@db:5432/x"
    );
    assert_eq!(redact_url("postgres://db/x"), "postgres://db/x");
    assert_eq!(redact_url("sqlite://a.db"), "sqlite://a.db");
}
