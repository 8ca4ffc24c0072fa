use super::*;
use crate::domain::ids::AgreementId;
use crate::domain::report::NotBilledKind;

fn summary(outcomes: &[(Outcome, usize)], held: usize, skipped: &[&str]) -> RunSummary {
    RunSummary {
        outcomes: outcomes
            .iter()
            .map(|(o, n)| (o.as_str().to_string(), *n))
            .collect(),
        lines_held: held,
        skipped_tenants: skipped
            .iter()
            .map(|name| SkippedTenant {
                tenant: NotBilledTenant {
                    tenant_id: format!("id-{name}"),
                    tenant_name: Some(name.to_string()),
                    agreement_id: AgreementId(1),
                    kind: NotBilledKind::Skipped,
                    reason: "login refused".into(),
                },
                since: Utc::now(),
            })
            .collect(),
        ..RunSummary::default()
    }
}

#[test]
fn run_outcomes() {
    use Outcome::*;
    /// (case, summary, lease lost, dry run, status, error)
    type Case<'a> = (&'a str, RunSummary, bool, bool, RunStatus, Option<&'a str>);
    let cases: &[Case] = &[
        (
            "all applied",
            summary(&[(Applied, 3)], 0, &[]),
            false,
            false,
            RunStatus::Succeeded,
            None,
        ),
        (
            "nothing to do",
            summary(&[], 0, &[]),
            false,
            false,
            RunStatus::Succeeded,
            None,
        ),
        (
            "held lines",
            summary(&[(Applied, 2), (Held, 1)], 1, &[]),
            false,
            false,
            RunStatus::Held,
            None,
        ),
        (
            "a skipped tenant outweighs held lines",
            summary(&[(Held, 1)], 1, &["Contoso"]),
            false,
            false,
            RunStatus::Partial,
            Some("tenants not billed: Contoso (login refused)"),
        ),
        (
            "a failed write",
            summary(&[(Applied, 1), (Failed, 1)], 0, &[]),
            false,
            false,
            RunStatus::Partial,
            Some("1 line(s) failed"),
        ),
        (
            "a stale line",
            summary(&[(Stale, 2)], 0, &[]),
            false,
            false,
            RunStatus::Partial,
            Some("2 line(s) changed in ConnectWise since the preview"),
        ),
        (
            "a conflict",
            summary(&[(Conflict, 1)], 0, &[]),
            false,
            false,
            RunStatus::Partial,
            Some("1 line(s) in conflict"),
        ),
        (
            "a move left for later",
            summary(&[(NotApplied, 1)], 0, &[]),
            false,
            false,
            RunStatus::Partial,
            Some("1 line(s) not applied"),
        ),
        (
            "a dry run writes nothing, and that is fine",
            summary(&[(NotApplied, 4)], 0, &[]),
            false,
            true,
            RunStatus::Succeeded,
            None,
        ),
        (
            "lease lost",
            summary(&[(NotApplied, 4)], 0, &[]),
            true,
            false,
            RunStatus::Partial,
            Some("the run lost its lease and stopped writing"),
        ),
        (
            "usage left unattributed on a billed tenant outweighs a clean write",
            RunSummary {
                unattributed_keys: vec![TenantKeys {
                    tenant_id: "id-Contoso".into(),
                    tenant_name: Some("Contoso".into()),
                    unknown_keys: 2,
                    ambiguous_keys: 0,
                    product_names: vec![
                        "Kaspersky Next EDR Optimum".into(),
                        "Kaspersky Next XDR Expert".into(),
                    ],
                }],
                ..summary(&[(Applied, 1), (Held, 1)], 1, &[])
            },
            false,
            false,
            RunStatus::Partial,
            Some(
                "usage no security application counts (unknown or ambiguous licence keys): \
                 Contoso (Kaspersky Next EDR Optimum, Kaspersky Next XDR Expert)",
            ),
        ),
    ];
    for (name, summary, lease_lost, dry_run, status, error) in cases {
        let (actual, why) = summary.status(*lease_lost, *dry_run);
        assert_eq!(actual, *status, "{name}");
        assert_eq!(why.as_deref(), *error, "{name}");
    }
}

#[test]
fn text_names_are_the_serde_names() {
    use crate::domain::plan::PlanAction;
    fn check<T: serde::Serialize + Copy>(all: &[T], name: fn(T) -> &'static str) {
        for &value in all {
            assert_eq!(serde_json::to_value(value).unwrap(), name(value));
        }
    }
    check(RunStatus::ALL, RunStatus::as_str);
    check(Outcome::ALL, Outcome::as_str);
    check(PlanAction::ALL, PlanAction::as_str);
    assert_eq!(RunStatus::parse("exploded"), None, "unknown is not failed");
}

#[test]
fn statuses_read_back() {
    for status in [
        RunStatus::Running,
        RunStatus::Succeeded,
        RunStatus::Held,
        RunStatus::Partial,
        RunStatus::Failed,
        RunStatus::Interrupted,
    ] {
        assert_eq!(RunStatus::parse(status.as_str()), Some(status));
        assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
    }
}
