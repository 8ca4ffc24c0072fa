//! Sync policies (DOMAIN.md §6 "Policies") and the dates they produce, in UTC.

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Effective date written on a new addition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EffectiveDatePolicy {
    #[default]
    Today,
    FirstOfMonth,
}

/// Cancel date written on an addition whose usage fell to zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CancelDatePolicy {
    Today,
    #[default]
    EndOfMonth,
}

/// The policies a plan is computed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct SyncPolicies {
    pub effective_date: EffectiveDatePolicy,
    pub cancel_date: CancelDatePolicy,
    /// A decrease by more than this share of the current quantity is held (0–100).
    pub max_decrease_percent: u8,
    /// A tenant whose billed units rise by more than this share (and by at least
    /// `min_increase_units`) has its raising lines held.
    pub max_increase_percent: u32,
    /// The smallest rise of a tenant's billed units the increase guard holds.
    pub min_increase_units: u32,
    /// A tenant's very first lines wait for approval.
    pub hold_first_billing: bool,
}

pub const DEFAULT_MAX_DECREASE_PERCENT: u8 = 50;
pub const DEFAULT_MAX_INCREASE_PERCENT: u32 = 100;
pub const DEFAULT_MIN_INCREASE_UNITS: u32 = 5;

impl Default for SyncPolicies {
    fn default() -> Self {
        Self {
            effective_date: EffectiveDatePolicy::default(),
            cancel_date: CancelDatePolicy::default(),
            max_decrease_percent: DEFAULT_MAX_DECREASE_PERCENT,
            max_increase_percent: DEFAULT_MAX_INCREASE_PERCENT,
            min_increase_units: DEFAULT_MIN_INCREASE_UNITS,
            hold_first_billing: false,
        }
    }
}

impl SyncPolicies {
    pub fn effective_date(&self, now: DateTime<Utc>) -> NaiveDate {
        let today = now.date_naive();
        match self.effective_date {
            EffectiveDatePolicy::Today => today,
            EffectiveDatePolicy::FirstOfMonth => first_of_month(today),
        }
    }

    pub fn cancel_date(&self, now: DateTime<Utc>) -> NaiveDate {
        let today = now.date_naive();
        match self.cancel_date {
            CancelDatePolicy::Today => today,
            CancelDatePolicy::EndOfMonth => end_of_month(today),
        }
    }

    /// Whether lowering `current` to `desired` exceeds the guard. A cancel is a 100 % decrease.
    pub fn exceeds_decrease_guard(&self, current: f64, desired: f64) -> bool {
        let decrease = current - desired;
        decrease > 0.0 && decrease * 100.0 > f64::from(self.max_decrease_percent) * current
    }

    /// Whether a tenant's billed units rising from `before` to `after` exceed the increase
    /// guard: by more than `max_increase_percent` **and** by at least `min_increase_units`.
    /// From nothing, any rise is more than any percentage.
    pub fn exceeds_increase_guard(&self, before: f64, after: f64) -> bool {
        let rise = after - before;
        rise > 0.0
            && rise >= f64::from(self.min_increase_units)
            && rise * 100.0 > f64::from(self.max_increase_percent) * before
    }
}

pub fn first_of_month(day: NaiveDate) -> NaiveDate {
    day.with_day(1).expect("every month has a first day")
}

pub fn end_of_month(day: NaiveDate) -> NaiveDate {
    let next_month = first_of_month(day) + Months::new(1);
    next_month
        .pred_opt()
        .expect("a first of month has a predecessor")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn month_boundaries() {
        let cases = [
            (
                "mid month",
                day(2026, 5, 7),
                day(2026, 5, 1),
                day(2026, 5, 31),
            ),
            (
                "first day",
                day(2026, 5, 1),
                day(2026, 5, 1),
                day(2026, 5, 31),
            ),
            (
                "last day",
                day(2026, 4, 30),
                day(2026, 4, 1),
                day(2026, 4, 30),
            ),
            (
                "february",
                day(2026, 2, 10),
                day(2026, 2, 1),
                day(2026, 2, 28),
            ),
            (
                "leap february",
                day(2028, 2, 10),
                day(2028, 2, 1),
                day(2028, 2, 29),
            ),
            (
                "december",
                day(2026, 12, 31),
                day(2026, 12, 1),
                day(2026, 12, 31),
            ),
        ];
        for (name, input, first, last) in cases {
            assert_eq!(first_of_month(input), first, "{name}: first_of_month");
            assert_eq!(end_of_month(input), last, "{name}: end_of_month");
        }
    }

    #[test]
    fn policy_dates_use_the_utc_day() {
        use CancelDatePolicy as C;
        use EffectiveDatePolicy as E;
        let cases = [
            (
                "defaults",
                E::Today,
                C::EndOfMonth,
                at(2026, 5, 7, 23),
                day(2026, 5, 7),
                day(2026, 5, 31),
            ),
            (
                "first/today",
                E::FirstOfMonth,
                C::Today,
                at(2026, 5, 7, 0),
                day(2026, 5, 1),
                day(2026, 5, 7),
            ),
            (
                "year end",
                E::FirstOfMonth,
                C::EndOfMonth,
                at(2026, 12, 31, 23),
                day(2026, 12, 1),
                day(2026, 12, 31),
            ),
        ];
        for (name, effective_date, cancel_date, now, effective, cancel) in cases {
            let policies = SyncPolicies {
                effective_date,
                cancel_date,
                ..SyncPolicies::default()
            };
            assert_eq!(
                policies.effective_date(now),
                effective,
                "{name}: effective date"
            );
            assert_eq!(policies.cancel_date(now), cancel, "{name}: cancel date");
        }
    }

    #[test]
    fn defaults_match_domain() {
        let policies = SyncPolicies::default();
        assert_eq!(policies.effective_date, EffectiveDatePolicy::Today);
        assert_eq!(policies.cancel_date, CancelDatePolicy::EndOfMonth);
        assert_eq!(policies.max_decrease_percent, 50);
        assert_eq!(policies.max_increase_percent, 100);
        assert_eq!(policies.min_increase_units, 5);
        assert!(!policies.hold_first_billing);
    }

    #[test]
    fn increase_guard_boundaries() {
        // (case, max %, min units, before, after, held)
        let cases = [
            ("2 → 3 devices: too few units", 100, 5, 2.0, 3.0, false),
            ("2 → 7: +250 % and 5 units", 100, 5, 2.0, 7.0, true),
            ("10 → 15: 5 units but only 50 %", 100, 5, 10.0, 15.0, false),
            ("10 → 20: exactly 100 %", 100, 5, 10.0, 20.0, false),
            ("10 → 21: 110 % and 11 units", 100, 5, 10.0, 21.0, true),
            (
                "5 → 10: 100 %, 5 units, not more than 100 %",
                100,
                5,
                5.0,
                10.0,
                false,
            ),
            ("4 → 9: 125 % and exactly 5 units", 100, 5, 4.0, 9.0, true),
            ("4 → 8.5: 112.5 % but 4.5 units", 100, 5, 4.0, 8.5, false),
            ("from nothing: any percentage", 100, 5, 0.0, 6.0, true),
            ("from nothing, below the units", 100, 5, 0.0, 4.0, false),
            ("decrease", 100, 5, 10.0, 2.0, false),
            ("no change", 0, 0, 10.0, 10.0, false),
            ("guard at 0 % and 0 units: any rise", 0, 0, 10.0, 11.0, true),
            ("guard at 300 %", 300, 5, 10.0, 39.0, false),
            ("guard at 300 %, above", 300, 5, 10.0, 41.0, true),
        ];
        for (name, max_increase_percent, min_increase_units, before, after, held) in cases {
            let policies = SyncPolicies {
                max_increase_percent,
                min_increase_units,
                ..SyncPolicies::default()
            };
            assert_eq!(
                policies.exceeds_increase_guard(before, after),
                held,
                "{name}"
            );
        }
    }

    #[test]
    fn decrease_guard_boundaries() {
        let cases = [
            ("increase", 50, 10.0, 20, false),
            ("no change", 50, 10.0, 10, false),
            ("exactly 50 %", 50, 10.0, 5, false),
            ("51 %", 50, 100.0, 49, true),
            ("49 %", 50, 100.0, 51, false),
            ("cancel at default", 50, 10.0, 0, true),
            ("cancel with guard at 100", 100, 10.0, 0, false),
            ("any decrease with guard at 0", 0, 10.0, 9, true),
            ("nothing billed yet", 50, 0.0, 0, false),
            ("fractional current", 50, 2.5, 1, true),
        ];
        for (name, max_decrease_percent, current, desired, held) in cases {
            let policies = SyncPolicies {
                max_decrease_percent,
                ..SyncPolicies::default()
            };
            assert_eq!(
                policies.exceeds_decrease_guard(current, desired as f64),
                held,
                "{name}"
            );
        }
    }
}
