//! Cron schedules as CronJobs write them: five fields (minute, hour, day
//! of month, month, day of week) with `*`, `?`, lists, ranges, steps and
//! month / weekday names, or a descriptor (`@hourly`, `@daily`, ...).
//! When both day fields are restricted a day matching either runs, as in
//! classic cron. Times are evaluated in a time zone read from the
//! system's zoneinfo (UTC when none is given).

use k8s_openapi::jiff::civil::{Date, DateTime};
use k8s_openapi::jiff::tz::TimeZone;
use k8s_openapi::jiff::{Timestamp, ToSpan};

/// A parsed schedule: one bit per allowed value of each field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    /// Whether the day-of-month / day-of-week fields were `*` or `?`.
    any_day: bool,
    any_weekday: bool,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

fn value(s: &str, names: &[&str], offset: u32) -> Result<u32, String> {
    if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
        return Ok(i as u32 + offset);
    }
    s.parse::<u32>()
        .map_err(|_| format!("failed to parse int from {s}"))
}

/// One field: a comma-separated list of `*`, `n`, `a-b`, each with an
/// optional `/step`.
fn field(s: &str, min: u32, max: u32, names: &[&str], offset: u32) -> Result<(u64, bool), String> {
    let mut bits = 0u64;
    let mut star = false;
    for part in s.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, st)) => {
                let st: u32 = st
                    .parse()
                    .map_err(|_| format!("failed to parse int from {st}"))?;
                if st == 0 {
                    return Err(format!("step of range should be a positive number: {part}"));
                }
                (r, Some(st))
            }
            None => (part, None),
        };
        let (lo, hi) = if range == "*" || range == "?" {
            star |= step.is_none();
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, names, offset)?, value(b, names, offset)?)
        } else {
            let v = value(range, names, offset)?;
            (v, if step.is_some() { max } else { v })
        };
        if lo < min || hi > max || lo > hi {
            return Err(format!("value out of range ({min} to {max}): {part}"));
        }
        let step = step.unwrap_or(1);
        let mut v = lo;
        while v <= hi {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok((bits, star))
}

impl Schedule {
    pub fn parse(spec: &str) -> Result<Schedule, String> {
        let spec = spec.trim();
        let expanded = match spec.to_ascii_lowercase().as_str() {
            "@yearly" | "@annually" => "0 0 1 1 *".to_string(),
            "@monthly" => "0 0 1 * *".to_string(),
            "@weekly" => "0 0 * * 0".to_string(),
            "@daily" | "@midnight" => "0 0 * * *".to_string(),
            "@hourly" => "0 * * * *".to_string(),
            s if s.starts_with('@') => return Err(format!("unrecognized descriptor: {spec}")),
            _ => spec.to_string(),
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(format!(
                "expected exactly 5 fields, found {}: {spec}",
                fields.len()
            ));
        }
        let (minutes, _) = field(fields[0], 0, 59, &[], 0)?;
        let (hours, _) = field(fields[1], 0, 23, &[], 0)?;
        let (days, any_day) = field(fields[2], 1, 31, &[], 0)?;
        let (months, _) = field(fields[3], 1, 12, &MONTHS, 1)?;
        let (mut weekdays, any_weekday) = field(fields[4], 0, 7, &WEEKDAYS, 0)?;
        // 7 is Sunday too.
        if weekdays & (1 << 7) != 0 {
            weekdays = (weekdays | 1) & !(1 << 7);
        }
        Ok(Schedule {
            minutes,
            hours,
            days,
            months,
            weekdays,
            any_day,
            any_weekday,
        })
    }

    fn day_matches(&self, d: Date) -> bool {
        let dom = self.days & (1 << d.day()) != 0;
        let dow = self.weekdays & (1 << d.weekday().to_sunday_zero_offset()) != 0;
        if self.any_day || self.any_weekday {
            dom && dow
        } else {
            dom || dow
        }
    }

    /// The first scheduled time strictly after `after`, within eight
    /// years (None for a schedule that never fires, e.g. Feb 30).
    pub fn next(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let start = after.to_zoned(tz.clone()).datetime();
        let mut t: DateTime = start
            .with()
            .second(0)
            .subsec_nanosecond(0)
            .build()
            .ok()?
            .checked_add(1.minute())
            .ok()?;
        let limit = start.year() as i32 + 8;
        while (t.year() as i32) <= limit {
            if self.months & (1 << t.month()) == 0 {
                t = t
                    .first_of_month()
                    .checked_add(1.month())
                    .ok()?
                    .start_of_day();
                continue;
            }
            if !self.day_matches(t.date()) {
                t = t
                    .date()
                    .checked_add(1.day())
                    .ok()?
                    .to_datetime(Default::default());
                continue;
            }
            if self.hours & (1 << t.hour()) == 0 {
                t = t
                    .with()
                    .minute(0)
                    .build()
                    .ok()?
                    .checked_add(1.hour())
                    .ok()?;
                continue;
            }
            if self.minutes & (1 << t.minute()) == 0 {
                t = t.checked_add(1.minute()).ok()?;
                continue;
            }
            let ts = tz.to_ambiguous_zoned(t).compatible().ok()?.timestamp();
            if ts > after {
                return Some(ts);
            }
            t = t.checked_add(1.minute()).ok()?;
        }
        None
    }
}

/// The zone a CronJob's `timeZone` names, read from the system zoneinfo.
pub fn time_zone(name: Option<&str>) -> Result<TimeZone, String> {
    let Some(name) = name.filter(|n| !n.is_empty()) else {
        return Ok(TimeZone::UTC);
    };
    if name == "UTC" || name == "Etc/UTC" {
        return Ok(TimeZone::UTC);
    }
    if name.contains("..") || name.starts_with('/') {
        return Err(format!("invalid time zone {name}"));
    }
    for dir in [
        "/usr/share/zoneinfo",
        "/usr/lib/zoneinfo",
        "/usr/share/lib/zoneinfo",
    ] {
        if let Ok(data) = std::fs::read(format!("{dir}/{name}")) {
            return TimeZone::tzif(name, &data).map_err(|e| format!("time zone {name}: {e}"));
        }
    }
    Err(format!("unknown time zone {name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn next(spec: &str, after: &str) -> String {
        Schedule::parse(spec)
            .unwrap()
            .next(ts(after), &TimeZone::UTC)
            .unwrap()
            .to_string()
    }

    #[test]
    fn fields_ranges_steps_and_names() {
        assert_eq!(
            next("*/15 * * * *", "2024-01-01T00:07:30Z"),
            "2024-01-01T00:15:00Z"
        );
        assert_eq!(
            next("0 9-17/4 * * *", "2024-01-01T09:00:00Z"),
            "2024-01-01T13:00:00Z"
        );
        assert_eq!(
            next("30 2 * jan-mar mon", "2024-03-30T00:00:00Z"),
            "2025-01-06T02:30:00Z"
        );
        assert_eq!(
            next("0 0 * * 7", "2024-01-01T00:00:00Z"),
            "2024-01-07T00:00:00Z"
        );
        assert_eq!(
            next("5,10 * * * *", "2024-01-01T00:05:00Z"),
            "2024-01-01T00:10:00Z"
        );
        // Either day field matches when both are restricted.
        assert_eq!(
            next("0 0 13 * fri", "2024-01-01T00:00:00Z"),
            "2024-01-05T00:00:00Z"
        );
        assert_eq!(
            next("@hourly", "2024-01-01T00:00:00Z"),
            "2024-01-01T01:00:00Z"
        );
        assert_eq!(
            next("@monthly", "2024-01-31T10:00:00Z"),
            "2024-02-01T00:00:00Z"
        );
        assert_eq!(
            next("0 0 29 2 *", "2024-03-01T00:00:00Z"),
            "2028-02-29T00:00:00Z"
        );
        assert!(
            Schedule::parse("0 0 30 2 *")
                .unwrap()
                .next(ts("2024-01-01T00:00:00Z"), &TimeZone::UTC)
                .is_none()
        );
        assert!(Schedule::parse("* * *").is_err());
        assert!(Schedule::parse("61 * * * *").is_err());
        assert!(Schedule::parse("*/0 * * * *").is_err());
        assert!(Schedule::parse("@every 5m").is_err());
    }

    #[test]
    fn time_zones_shift_the_schedule() {
        let Ok(paris) = time_zone(Some("Europe/Paris")) else {
            eprintln!("SKIPPED: no zoneinfo for Europe/Paris");
            return;
        };
        let s = Schedule::parse("0 9 * * *").unwrap();
        // 09:00 in Paris in January is 08:00 UTC.
        assert_eq!(
            s.next(ts("2024-01-10T00:00:00Z"), &paris)
                .unwrap()
                .to_string(),
            "2024-01-10T08:00:00Z"
        );
        assert!(time_zone(Some("Mars/Olympus")).is_err());
        assert!(time_zone(Some("../etc/passwd")).is_err());
    }
}
