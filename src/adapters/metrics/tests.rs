use super::*;

fn pool() -> PoolState {
    PoolState {
        max_size: 4,
        connections: 2,
        idle: 1,
    }
}

#[test]
fn a_request_lands_in_its_buckets_and_counts() {
    let route = "/test/histogram/{id}";
    http_request(Some(route), "GET", 200, Duration::from_millis(30));
    http_request(Some(route), "GET", 200, Duration::from_millis(3));
    let text = render(&pool());
    let labels = r#"route="/test/histogram/{id}",method="GET",status="200""#;
    assert!(text.contains(&format!("bridge_http_requests_total{{{labels}}} 2\n")));
    assert!(text.contains(&format!(
        "bridge_http_request_duration_seconds_bucket{{{labels},le=\"0.005\"}} 1\n"
    )));
    assert!(text.contains(&format!(
        "bridge_http_request_duration_seconds_bucket{{{labels},le=\"0.05\"}} 2\n"
    )));
    assert!(text.contains(&format!(
        "bridge_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} 2\n"
    )));
}

#[test]
fn unmatched_routes_and_odd_methods_share_fixed_labels() {
    http_request(None, "BREW", 404, Duration::ZERO);
    let text = render(&pool());
    assert!(text.contains(r#"route="unmatched",method="other",status="404""#));
}

#[test]
fn sync_families_exist_before_any_run_and_count_after() {
    let text = render(&pool());
    assert!(text.contains("# TYPE bridge_sync_runs_total counter\n"));
    assert!(text.contains("bridge_sync_last_success_timestamp_seconds "));
    sync_run_finished("test-status");
    sync_additions_written("test-action", 3);
    sync_succeeded_at(1_700_000_000);
    sync_last_run(LastRun {
        held_lines: 5,
        skipped_tenants: 2,
        unattributed_tenants: 1,
    });
    let text = render(&pool());
    assert!(text.contains("bridge_sync_runs_total{status=\"test-status\"} 1\n"));
    assert!(text.contains("bridge_sync_additions_written_total{action=\"test-action\"} 3\n"));
    assert!(text.contains("bridge_sync_last_success_timestamp_seconds 1700000000\n"));
    assert!(text.contains("bridge_sync_last_run_held_lines 5\n"));
    assert!(text.contains("bridge_sync_last_run_skipped_tenants 2\n"));
    assert!(text.contains("bridge_sync_last_run_unattributed_tenants 1\n"));
}

#[test]
fn pool_gauges_and_upstream_zeroes_are_always_there() {
    let text = render(&pool());
    assert!(text.contains("bridge_db_pool_connections 2\n"));
    assert!(text.contains("bridge_db_pool_idle_connections 1\n"));
    assert!(text.contains(r#"bridge_upstream_calls_total{upstream="ksc",outcome="no_response"} "#));
    assert!(text.contains(r#"bridge_upstream_rate_limited_total{upstream="connectwise"} "#));
}

#[test]
fn build_info_and_process_metrics_are_there() {
    let text = render(&pool());
    assert!(text.contains(&format!(
        "bridge_build_info{{version=\"{VERSION}\",commit=\"{COMMIT}\"}} 1\n"
    )));
    if cfg!(target_os = "linux") {
        for name in [
            "process_cpu_seconds_total ",
            "process_resident_memory_bytes ",
            "process_open_fds ",
            "process_start_time_seconds ",
        ] {
            assert!(text.contains(name), "{name}");
        }
    }
}

#[test]
fn declared_sync_series_start_at_zero() {
    declare_sync_series(&["declared-status"], &["declared-action"]);
    let text = render(&pool());
    assert!(text.contains("bridge_sync_runs_total{status=\"declared-status\"} 0\n"));
    assert!(text.contains("bridge_sync_additions_written_total{action=\"declared-action\"} 0\n"));
}

#[test]
fn label_values_are_escaped() {
    assert_eq!(escape("a\"b\\c\nd"), r#"a\"b\\c\nd"#);
}
