//! Sync settings: schedule, policies and retention, kept as one JSON value in `app_state`.

use chrono::{DateTime, Utc};
use diesel::QueryResult;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::adapters::db::{key_values, DbConnection};
use crate::domain::money::Money;
use crate::domain::policies::{
    CancelDatePolicy, EffectiveDatePolicy, SyncPolicies, DEFAULT_MAX_DECREASE_PERCENT,
    DEFAULT_MAX_INCREASE_PERCENT, DEFAULT_MIN_INCREASE_UNITS,
};
use crate::domain::validation::FieldError;
use crate::sync::schedule;

const KEY: &str = "sync_settings";
const MAX_INCREASE_PERCENT: u32 = 10_000;
const MAX_INCREASE_UNITS: u32 = 1_000_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
#[schema(
    example = json!({"schedule_enabled": true, "schedule": "0 2 * * *", "time_zone": "Europe/Berlin",
        "effective_date_policy": "today", "cancel_date_policy": "end_of_month",
        "max_decrease_percent": 50, "max_increase_percent": 100, "min_increase_units": 5,
        "hold_first_billing": false, "held_notice_after_hours": 24,
        "held_money_notice_threshold": "250.00", "max_usage_age_hours": 48,
        "retention": {"runs_days": 400, "snapshots_days": 400, "audit_events_days": 730}})
)]
pub struct SyncSettings {
    /// Whether the scheduler runs syncs.
    #[schema(required)]
    pub schedule_enabled: bool,
    /// Cron expression (minute hour day-of-month month day-of-week), default daily 02:00.
    #[schema(required, min_length = 9)]
    pub schedule: String,
    /// IANA time zone of the schedule, default `UTC`.
    #[schema(required, min_length = 1)]
    pub time_zone: String,
    #[schema(required)]
    pub effective_date_policy: EffectiveDatePolicy,
    #[schema(required)]
    pub cancel_date_policy: CancelDatePolicy,
    /// A decrease of more than this percentage (and every cancel) waits for approval (0–100).
    #[schema(required, maximum = 100)]
    pub max_decrease_percent: u8,
    /// A tenant whose total billed units rise by more than this percentage, and by at least
    /// `min_increase_units`, has its raising lines held for approval (0–10000; default 100).
    #[schema(default = 100, maximum = 10000)]
    pub max_increase_percent: u32,
    /// The smallest rise of a tenant's total billed units the increase guard holds, so a tenant
    /// going from 2 to 3 devices is not held (0–1000000; default 5).
    #[schema(default = 5, maximum = 1000000)]
    pub min_increase_units: u32,
    /// A tenant's very first lines wait for approval (default off).
    #[schema(default = false)]
    pub hold_first_billing: bool,
    /// Lines held for approval this long (hours; 0 = at once) raise a `held_lines` notice
    /// (default 24).
    #[schema(default = 24, maximum = 8760)]
    pub held_notice_after_hours: u32,
    /// Held lines that would move one company's monthly bill by at least this amount (either
    /// way) raise a `held_money` notice at once; null (the default) = no such notice. An exact
    /// decimal string, e.g. `"100.00"`.
    #[schema(default = json!(null))]
    pub held_money_notice_threshold: Option<Money>,
    /// Usage older than this freezes the tenant's billing (hours).
    #[schema(required, minimum = 1)]
    pub max_usage_age_hours: u32,
    #[schema(required)]
    pub retention: Retention,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct Retention {
    /// Days sync runs (and their changes) are kept.
    #[schema(required, minimum = 1)]
    pub runs_days: u32,
    /// Days usage snapshots are kept (the latest of each tenant is always kept).
    #[schema(required, minimum = 1)]
    pub snapshots_days: u32,
    /// Days audit events are kept.
    #[schema(required, minimum = 1)]
    pub audit_events_days: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            runs_days: 400,
            snapshots_days: 400,
            audit_events_days: 730,
        }
    }
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings {
            schedule_enabled: true,
            schedule: "0 2 * * *".into(),
            time_zone: "UTC".into(),
            effective_date_policy: EffectiveDatePolicy::default(),
            cancel_date_policy: CancelDatePolicy::default(),
            max_decrease_percent: DEFAULT_MAX_DECREASE_PERCENT,
            max_increase_percent: DEFAULT_MAX_INCREASE_PERCENT,
            min_increase_units: DEFAULT_MIN_INCREASE_UNITS,
            hold_first_billing: false,
            held_notice_after_hours: 24,
            held_money_notice_threshold: None,
            max_usage_age_hours: 48,
            retention: Retention::default(),
        }
    }
}

impl SyncSettings {
    pub fn policies(&self) -> SyncPolicies {
        SyncPolicies {
            effective_date: self.effective_date_policy,
            cancel_date: self.cancel_date_policy,
            max_decrease_percent: self.max_decrease_percent,
            max_increase_percent: self.max_increase_percent,
            min_increase_units: self.min_increase_units,
            hold_first_billing: self.hold_first_billing,
        }
    }

    /// Every rule the settings break, named by field (`retention.runs_days`).
    pub fn problems(&self) -> Vec<FieldError> {
        let mut problems = Vec::new();
        let mut check = |field: &str, result: Result<(), String>| {
            if let Err(message) = result {
                problems.push(FieldError::new(field, message));
            }
        };
        check(
            "schedule",
            schedule::parse_schedule(&self.schedule).map(drop),
        );
        check(
            "time_zone",
            schedule::parse_time_zone(&self.time_zone).map(drop),
        );
        check(
            "max_decrease_percent",
            at_most(self.max_decrease_percent.into(), 100),
        );
        check(
            "max_increase_percent",
            at_most(self.max_increase_percent, MAX_INCREASE_PERCENT),
        );
        check(
            "min_increase_units",
            at_most(self.min_increase_units, MAX_INCREASE_UNITS),
        );
        check(
            "held_notice_after_hours",
            at_most(self.held_notice_after_hours, 8760),
        );
        if self
            .held_money_notice_threshold
            .is_some_and(|m| m.is_negative() || m.is_zero())
        {
            check(
                "held_money_notice_threshold",
                Err("must be more than 0 (or null for no notice)".into()),
            );
        }
        check(
            "max_usage_age_hours",
            at_least_one(self.max_usage_age_hours),
        );
        let r = &self.retention;
        check("retention.runs_days", at_least_one(r.runs_days));
        check("retention.snapshots_days", at_least_one(r.snapshots_days));
        check(
            "retention.audit_events_days",
            at_least_one(r.audit_events_days),
        );
        problems
    }

    /// When the scheduler fires next after `now`; none when the schedule is off (or unusable).
    pub fn next_run_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.schedule_enabled
            .then(|| schedule::next_fire(&self.schedule, &self.time_zone, now).ok())
            .flatten()
    }
}

fn at_most(value: u32, max: u32) -> Result<(), String> {
    (value <= max)
        .then_some(())
        .ok_or_else(|| format!("must be at most {max}"))
}

fn at_least_one(value: u32) -> Result<(), String> {
    (value >= 1)
        .then_some(())
        .ok_or_else(|| "must be at least 1".to_string())
}

/// The stored settings; defaults until first saved.
pub fn get(conn: &mut DbConnection) -> QueryResult<SyncSettings> {
    Ok(key_values::get_json(conn, KEY)?.unwrap_or_default())
}

pub fn put(conn: &mut DbConnection, settings: &SyncSettings) -> QueryResult<()> {
    key_values::put_json(conn, KEY, settings)
}
