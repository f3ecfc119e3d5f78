//! Business calendars: a time zone, weekly business hours and holidays, kept
//! per brand and per department. A department without a calendar of its own
//! uses its brand's; an item with neither uses the default calendar.
//!
//! "Outside business hours" includes holidays: a holiday is outside business
//! hours all day. A rule that wants outside hours but not holidays adds
//! "During Holidays is false".

use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

/// A calendar as written in configuration.
///
/// ```toml
/// time-zone = "Europe/Berlin"
/// holidays = ["2026-12-25"]
/// [hours]
/// monday = ["09:00-12:00", "13:00-17:00"]
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Calendar {
    /// IANA time zone name.
    pub time_zone: String,
    /// Business hours per day (`monday` ... `sunday`), as `HH:MM-HH:MM` spans.
    /// A day not listed has no business hours.
    #[serde(default)]
    pub hours: BTreeMap<String, Vec<String>>,
    /// Holidays, `YYYY-MM-DD`, in the calendar's time zone.
    #[serde(default)]
    pub holidays: Vec<String>,
}

impl Default for Calendar {
    /// UTC, Monday to Friday 09:00-17:00, no holidays.
    fn default() -> Self {
        let days = ["monday", "tuesday", "wednesday", "thursday", "friday"];
        Calendar {
            time_zone: "UTC".into(),
            hours: days
                .iter()
                .map(|d| (d.to_string(), vec!["09:00-17:00".to_string()]))
                .collect(),
            holidays: Vec::new(),
        }
    }
}

/// A department's calendar settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DepartmentCalendar {
    /// The brand the department belongs to.
    #[serde(default)]
    pub brand: Option<String>,
    /// Its own calendar; absent means "use the brand's".
    #[serde(default)]
    pub calendar: Option<Calendar>,
}

/// Every calendar, as configured.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CalendarConfig {
    /// Used when neither the department nor the brand has one.
    #[serde(default)]
    pub default: Calendar,
    /// By brand name.
    #[serde(default)]
    pub brands: BTreeMap<String, Calendar>,
    /// By department name.
    #[serde(default)]
    pub departments: BTreeMap<String, DepartmentCalendar>,
}

/// A calendar value that is not accepted; `path` names it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{path}: {problem}")]
pub struct CalendarError {
    /// Where (`brands.Acme.hours.monday[0]`).
    pub path: String,
    /// What is wrong and what is accepted.
    pub problem: String,
}

/// A checked calendar, ready to answer questions about instants.
#[derive(Debug, Clone)]
pub struct CompiledCalendar {
    tz: TimeZone,
    hours: [Vec<(Time, Time)>; 7],
    holidays: HashSet<Date>,
}

/// Every calendar, checked.
#[derive(Debug, Clone)]
pub struct Calendars {
    default: CompiledCalendar,
    brands: BTreeMap<String, CompiledCalendar>,
    departments: BTreeMap<String, (Option<String>, Option<CompiledCalendar>)>,
}

impl Default for Calendars {
    fn default() -> Self {
        Calendars::compile(&CalendarConfig::default()).expect("the default calendar is valid")
    }
}

fn weekday_index(day: &str) -> Option<usize> {
    let days = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    days.iter().position(|d| d.eq_ignore_ascii_case(day))
}

/// Parses `HH:MM` (or `HH:MM:SS`).
pub fn parse_time(text: &str) -> Option<Time> {
    text.trim().parse::<Time>().ok()
}

impl CompiledCalendar {
    /// Checks and compiles one calendar; errors are prefixed with `path`.
    pub fn compile(cal: &Calendar, path: &str) -> Result<CompiledCalendar, CalendarError> {
        let err = |field: String, problem: String| CalendarError {
            path: format!("{path}.{field}"),
            problem,
        };
        let tz = TimeZone::get(&cal.time_zone).map_err(|_| {
            err(
                "time-zone".into(),
                format!(
                    "{:?} is not a known IANA time zone (such as `Europe/Berlin` or `UTC`)",
                    cal.time_zone
                ),
            )
        })?;
        let mut hours: [Vec<(Time, Time)>; 7] = Default::default();
        for (day, spans) in &cal.hours {
            let Some(i) = weekday_index(day) else {
                return Err(err(
                    format!("hours.{day}"),
                    "is not a day; use monday, tuesday, ... sunday".into(),
                ));
            };
            for (n, span) in spans.iter().enumerate() {
                let parsed = span
                    .split_once('-')
                    .and_then(|(a, b)| Some((parse_time(a)?, parse_time(b)?)))
                    .filter(|(a, b)| a < b);
                let Some(range) = parsed else {
                    return Err(err(
                        format!("hours.{day}[{n}]"),
                        format!("{span:?} is not a span; use `HH:MM-HH:MM` with the start before the end"),
                    ));
                };
                hours[i].push(range);
            }
        }
        let mut holidays = HashSet::new();
        for (n, day) in cal.holidays.iter().enumerate() {
            let date = day.parse::<Date>().map_err(|_| {
                err(
                    format!("holidays[{n}]"),
                    format!("{day:?} is not a date; use YYYY-MM-DD"),
                )
            })?;
            holidays.insert(date);
        }
        Ok(CompiledCalendar {
            tz,
            hours,
            holidays,
        })
    }

    /// The instant in this calendar's time zone.
    pub fn local(&self, at: Timestamp) -> DateTime {
        self.tz.to_datetime(at)
    }

    /// Whether the instant falls in business hours (holidays included as hours; see [`Self::is_holiday`]).
    pub fn in_hours(&self, at: Timestamp) -> bool {
        let local = self.local(at);
        let day = local.weekday().to_monday_zero_offset() as usize;
        let time = local.time();
        self.hours[day]
            .iter()
            .any(|(start, end)| *start <= time && time < *end)
    }

    /// Whether the instant's local date is a holiday.
    pub fn is_holiday(&self, at: Timestamp) -> bool {
        self.holidays.contains(&self.local(at).date())
    }

    /// Outside business hours: not in hours, or on a holiday.
    pub fn outside_business_hours(&self, at: Timestamp) -> bool {
        !self.in_hours(at) || self.is_holiday(at)
    }

    /// Local weekday of the instant.
    pub fn weekday(&self, at: Timestamp) -> Weekday {
        self.local(at).weekday()
    }

    /// Local time of day of the instant.
    pub fn time_of_day(&self, at: Timestamp) -> Time {
        self.local(at).time()
    }

    /// The business-hour spans from `start` on, in order, clipped to start at
    /// `start`; holidays have none. Looks up to [`BUSINESS_SEARCH_DAYS`] ahead.
    fn business_spans(
        &self,
        start: Timestamp,
    ) -> impl Iterator<Item = (Timestamp, Timestamp)> + '_ {
        let first = self.local(start).date();
        (0..BUSINESS_SEARCH_DAYS)
            .map_while(move |n| first.checked_add(jiff::Span::new().days(n)).ok())
            .filter(|date| !self.holidays.contains(date))
            .flat_map(move |date| {
                let day = date.weekday().to_monday_zero_offset() as usize;
                let mut spans = self.hours[day].clone();
                spans.sort();
                spans.into_iter().filter_map(move |(a, b)| {
                    let at = |t: Time| self.tz.to_timestamp(date.to_datetime(t)).ok();
                    let (a, b) = (at(a)?, at(b)?);
                    (b > start).then(|| (a.max(start), b))
                })
            })
    }

    /// The instant at which `minutes` business minutes have passed since
    /// `start` (holidays and hours outside the spans do not count); `None`
    /// when the calendar has too few business hours to get there.
    pub fn after_business_minutes(&self, start: Timestamp, minutes: i64) -> Option<Timestamp> {
        let mut left_ms = minutes.max(0) * 60_000;
        if left_ms == 0 {
            return Some(start);
        }
        for (a, b) in self.business_spans(start) {
            let span_ms = b.as_millisecond() - a.as_millisecond();
            if span_ms >= left_ms {
                return Timestamp::from_millisecond(a.as_millisecond() + left_ms).ok();
            }
            left_ms -= span_ms;
        }
        None
    }

    /// Whole business minutes between `start` and `end`.
    pub fn business_minutes_between(&self, start: Timestamp, end: Timestamp) -> i64 {
        let mut ms = 0;
        for (a, b) in self.business_spans(start) {
            if a >= end {
                break;
            }
            ms += b.min(end).as_millisecond() - a.as_millisecond();
        }
        ms / 60_000
    }
}

/// How far ahead business minutes are searched, in days.
pub const BUSINESS_SEARCH_DAYS: i64 = 800;

impl Calendars {
    /// Checks and compiles every calendar; errors name the path.
    pub fn compile(config: &CalendarConfig) -> Result<Calendars, CalendarError> {
        let default = CompiledCalendar::compile(&config.default, "calendars.default")?;
        let mut brands = BTreeMap::new();
        for (name, cal) in &config.brands {
            brands.insert(
                name.clone(),
                CompiledCalendar::compile(cal, &format!("calendars.brands.{name}"))?,
            );
        }
        let mut departments = BTreeMap::new();
        for (name, dept) in &config.departments {
            if let Some(brand) = &dept.brand {
                if !config.brands.contains_key(brand) {
                    return Err(CalendarError {
                        path: format!("calendars.departments.{name}.brand"),
                        problem: format!("brand {brand:?} has no calendar; add it under calendars.brands or remove the brand"),
                    });
                }
            }
            let own = dept
                .calendar
                .as_ref()
                .map(|c| {
                    CompiledCalendar::compile(c, &format!("calendars.departments.{name}.calendar"))
                })
                .transpose()?;
            departments.insert(name.clone(), (dept.brand.clone(), own));
        }
        Ok(Calendars {
            default,
            brands,
            departments,
        })
    }

    /// The calendar for an item: its department's own, else the department's
    /// brand's, else the item's brand's, else the default.
    pub fn for_item(&self, department: Option<&str>, brand: Option<&str>) -> &CompiledCalendar {
        if let Some((dept_brand, own)) = department.and_then(|d| self.departments.get(d)) {
            if let Some(cal) = own {
                return cal;
            }
            if let Some(cal) = dept_brand.as_deref().and_then(|b| self.brands.get(b)) {
                return cal;
            }
        }
        brand
            .and_then(|b| self.brands.get(b))
            .unwrap_or(&self.default)
    }
}

/// The calendars an admin stored (tree `settings`, key `calendars`), if any.
pub fn stored(store: &crate::store::Store) -> anyhow::Result<Option<CalendarConfig>> {
    let tree = store.tree("settings")?;
    Ok(match tree.get("calendars")? {
        Some(v) => Some(serde_json::from_slice(&v)?),
        None => None,
    })
}

/// Checks and stores the calendars; returns them compiled.
pub fn store_config(
    store: &crate::store::Store,
    config: &CalendarConfig,
) -> anyhow::Result<Result<Calendars, CalendarError>> {
    let compiled = match Calendars::compile(config) {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    let tree = store.tree("settings")?;
    tree.insert("calendars", serde_json::to_vec(config)?)?;
    tree.flush()?;
    Ok(Ok(compiled))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn config() -> CalendarConfig {
        toml::from_str(
            r#"
            [brands.acme]
            time-zone = "America/New_York"
            holidays = ["2026-12-25"]
            [brands.acme.hours]
            monday = ["09:00-17:00"]
            friday = ["09:00-12:00", "13:00-17:00"]
            [departments.support]
            brand = "acme"
            [departments.night]
            brand = "acme"
            [departments.night.calendar]
            time-zone = "UTC"
            [departments.night.calendar.hours]
            monday = ["00:00-06:00"]
            "#,
        )
        .unwrap()
    }

    #[test]
    fn hours_in_the_calendars_zone() {
        let cals = Calendars::compile(&config()).unwrap();
        let acme = cals.for_item(None, Some("acme"));
        // Monday 2026-11-30 14:00 UTC is 09:00 in New York: inside.
        assert!(acme.in_hours(ts("2026-11-30T14:00:00Z")));
        // 13:59 UTC is 08:59 in New York: outside.
        assert!(acme.outside_business_hours(ts("2026-11-30T13:59:00Z")));
        // Friday lunch gap.
        assert!(acme.outside_business_hours(ts("2026-12-04T17:30:00Z")));
        assert!(!acme.outside_business_hours(ts("2026-12-04T18:30:00Z")));
    }

    #[test]
    fn a_holiday_is_outside_business_hours() {
        let cals = Calendars::compile(&config()).unwrap();
        let acme = cals.for_item(Some("support"), None);
        // Friday 2026-12-25 15:00 New York would be in hours, but it is a holiday.
        let xmas = ts("2026-12-25T20:00:00Z");
        assert!(acme.is_holiday(xmas));
        assert!(acme.outside_business_hours(xmas));
    }

    #[test]
    fn department_falls_back_to_brand_then_default() {
        let cals = Calendars::compile(&config()).unwrap();
        let monday_1am_utc = ts("2026-11-30T01:00:00Z");
        // `night` has its own calendar: Monday 00:00-06:00 UTC.
        assert!(cals.for_item(Some("night"), None).in_hours(monday_1am_utc));
        // `support` has none: the brand's.
        assert!(!cals
            .for_item(Some("support"), None)
            .in_hours(monday_1am_utc));
        assert!(cals
            .for_item(Some("support"), None)
            .is_holiday(ts("2026-12-25T20:00:00Z")));
        // Unknown department and no brand: the default (UTC Mon-Fri 9-17).
        assert!(cals
            .for_item(Some("unknown"), None)
            .in_hours(ts("2026-11-30T10:00:00Z")));
    }

    #[test]
    fn errors_name_the_path() {
        let mut c = config();
        c.brands
            .get_mut("acme")
            .unwrap()
            .hours
            .insert("monday".into(), vec!["17:00-09:00".into()]);
        let err = Calendars::compile(&c).unwrap_err();
        assert_eq!(err.path, "calendars.brands.acme.hours.monday[0]");
        let mut c = config();
        c.default.time_zone = "Mars/Olympus".into();
        assert_eq!(
            Calendars::compile(&c).unwrap_err().path,
            "calendars.default.time-zone"
        );
        let mut c = config();
        c.departments.get_mut("support").unwrap().brand = Some("nope".into());
        assert_eq!(
            Calendars::compile(&c).unwrap_err().path,
            "calendars.departments.support.brand"
        );
    }

    #[test]
    fn business_minutes_skip_the_weekend_and_holidays() {
        let cal = CompiledCalendar::compile(&Calendar::default(), "default").unwrap();
        let friday = ts("2026-11-27T16:30:00Z");
        assert_eq!(
            cal.after_business_minutes(friday, 60),
            Some(ts("2026-11-30T09:30:00Z"))
        );
        assert_eq!(
            cal.after_business_minutes(friday, 30),
            Some(ts("2026-11-27T17:00:00Z"))
        );
        assert_eq!(
            cal.business_minutes_between(friday, ts("2026-11-30T09:30:00Z")),
            60
        );
        let holiday = Calendar {
            holidays: vec!["2026-11-30".into()],
            ..Calendar::default()
        };
        let cal = CompiledCalendar::compile(&holiday, "h").unwrap();
        assert_eq!(
            cal.after_business_minutes(friday, 60),
            Some(ts("2026-12-01T09:30:00Z"))
        );
        let closed = Calendar {
            hours: Default::default(),
            ..Calendar::default()
        };
        let cal = CompiledCalendar::compile(&closed, "c").unwrap();
        assert_eq!(cal.after_business_minutes(friday, 1), None);
    }
}
