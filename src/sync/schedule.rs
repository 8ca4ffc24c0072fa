//! When scheduled syncs fire: a 5-field cron expression read in an IANA time zone. Pure
//! functions, so the scheduler loop stays thin and the time arithmetic is unit tested.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;

/// A 5-field cron expression (minute hour day-of-month month day-of-week, POSIX/Vixie
/// semantics, so `1` is Monday); no seconds or years, which the API does not promise.
pub fn parse_schedule(expression: &str) -> Result<Cron, String> {
    if expression.split_whitespace().count() != 5 {
        return Err("must have 5 fields: minute hour day-of-month month day-of-week".into());
    }
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
        .parse(expression)
        .map_err(|e| format!("is not a valid cron expression: {e}"))
}

pub fn parse_time_zone(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>()
        .map_err(|_| format!("{name:?} is not an IANA time zone (e.g. UTC, Europe/Berlin)"))
}

/// The first fire time strictly after `after`. Wall-clock times are read in `time_zone`, so
/// `0 2 * * *` in Europe/Berlin fires at 02:00 Berlin time in winter and in summer.
pub fn next_fire(
    schedule: &str,
    time_zone: &str,
    after: DateTime<Utc>,
) -> Result<DateTime<Utc>, String> {
    let cron = parse_schedule(schedule)?;
    let tz = parse_time_zone(time_zone)?;
    cron.find_next_occurrence(&after.with_timezone(&tz), false)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("has no next fire time: {e}"))
}

/// The slot to fire now: a fire time in (`since`, `now`], if any. The scheduler checks the
/// window it just slept through, so a slot is fired once, and a slot that passed while the
/// schedule said otherwise is never fired late.
pub fn due(
    schedule: &str,
    time_zone: &str,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    next_fire(schedule, time_zone, since)
        .ok()
        .filter(|slot| *slot <= now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    #[test]
    fn daily_in_utc() {
        let next = next_fire("0 2 * * *", "UTC", utc(2026, 11, 28, 1, 59)).unwrap();
        assert_eq!(next, utc(2026, 11, 28, 2, 0));
        // Strictly after: a run at 02:00 does not fire again at 02:00.
        let next = next_fire("0 2 * * *", "UTC", utc(2026, 11, 28, 2, 0)).unwrap();
        assert_eq!(next, utc(2026, 11, 29, 2, 0));
    }

    #[test]
    fn wall_clock_of_the_time_zone() {
        // Berlin is UTC+1 in winter and UTC+2 in summer.
        let winter = next_fire("0 2 * * *", "Europe/Berlin", utc(2026, 1, 10, 12, 0)).unwrap();
        assert_eq!(winter, utc(2026, 1, 11, 1, 0));
        let summer = next_fire("0 2 * * *", "Europe/Berlin", utc(2026, 7, 10, 12, 0)).unwrap();
        assert_eq!(summer, utc(2026, 7, 11, 0, 0));
    }

    #[test]
    fn weekdays_are_posix() {
        // 2026-11-28 is a Saturday; `1` is Monday.
        let next = next_fire("30 6 * * 1", "UTC", utc(2026, 11, 28, 0, 0)).unwrap();
        assert_eq!(next, utc(2026, 11, 30, 6, 30));
    }

    #[test]
    fn due_only_inside_the_window() {
        let since = utc(2026, 11, 28, 1, 59);
        assert_eq!(
            due("0 2 * * *", "UTC", since, utc(2026, 11, 28, 1, 59)),
            None
        );
        assert_eq!(
            due("0 2 * * *", "UTC", since, utc(2026, 11, 28, 2, 0)),
            Some(utc(2026, 11, 28, 2, 0))
        );
        assert_eq!(
            due(
                "0 2 * * *",
                "UTC",
                utc(2026, 11, 28, 2, 0),
                utc(2026, 11, 28, 2, 1)
            ),
            None
        );
    }

    #[test]
    fn invalid_input_is_explained() {
        assert!(parse_schedule("0 2 * *").unwrap_err().contains("5 fields"));
        assert!(parse_schedule("0 2 * * * *")
            .unwrap_err()
            .contains("5 fields"));
        assert!(parse_schedule("61 2 * * *").is_err());
        assert!(parse_schedule("x 2 * * *").is_err());
        assert!(parse_schedule("*/15 8-18 * * 1-5").is_ok());
        assert!(parse_time_zone("Mars/Olympus").is_err());
        assert!(parse_time_zone("America/New_York").is_ok());
    }
}
