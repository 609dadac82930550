//! rclone's `--bwlimit` forms: a rate (`10M`, bare numbers are KiB/s), `off`, separate
//! upload and download rates (`10M:100k`), and a timetable of rates by time of day and
//! optionally weekday (`"08:00,512k 12:00,off"`, `"Mon-08:00,1M Sat-00:00,off"`, entries
//! split by spaces or `;`).
//!
//! What ferry does with them: the rate in force when the run starts applies to the whole
//! run (a timetable does not switch in the middle of a run yet); of `UP:DOWN`, the upload
//! rate applies when the destination is remote and the source local, the download rate
//! when the source is remote and the destination local, and the lower of the two otherwise.

use ferry_core::units::parse_size_checked;

/// One rate: bytes per second up and down (`None`: no limit).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rate {
    pub up: Option<u64>,
    pub down: Option<u64>,
}

/// Which way the bytes of a run go, for `UP:DOWN` rates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Upload,
    Download,
    Both,
}

impl Rate {
    /// The one limit for a run going `dir`.
    pub fn for_direction(&self, dir: Direction) -> Option<u64> {
        match dir {
            Direction::Upload => self.up,
            Direction::Download => self.down,
            Direction::Both => match (self.up, self.down) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
        }
    }
}

/// A timetable entry: from `minute` of the day (on `weekday`, 0 = Monday, or every day).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Slot {
    weekday: Option<u32>,
    minute: u32,
    rate: Rate,
}

/// A parsed `--bwlimit`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BwLimit {
    slots: Vec<Slot>,
}

fn parse_one(s: &str) -> Result<Option<u64>, String> {
    let s = s.trim();
    if s.is_empty() || s.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let n = parse_size_checked(s)?;
    Ok((n > 0).then_some(n))
}

fn parse_rate(s: &str) -> Result<Rate, String> {
    match s.split_once(':') {
        Some((up, down)) => Ok(Rate {
            up: parse_one(up)?,
            down: parse_one(down)?,
        }),
        None => {
            let r = parse_one(s)?;
            Ok(Rate { up: r, down: r })
        }
    }
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn parse_time(s: &str) -> Result<(Option<u32>, u32), String> {
    let bad = || format!("invalid time {s:?} in a --bwlimit timetable: use HH:MM or Mon-HH:MM");
    let (day, hm) = match s.split_once('-') {
        Some((d, hm)) => {
            let d = d.to_ascii_lowercase();
            let i = DAYS.iter().position(|x| *x == d).ok_or_else(bad)?;
            (Some(i as u32), hm)
        }
        None => (None, s),
    };
    let (h, m) = hm.split_once(':').ok_or_else(bad)?;
    let h: u32 = h.parse().map_err(|_| bad())?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    if h > 23 || m > 59 || hm.len() != 5 {
        return Err(bad());
    }
    Ok((day, h * 60 + m))
}

impl BwLimit {
    pub fn parse(s: &str) -> Result<BwLimit, String> {
        let entries: Vec<&str> = s
            .split([' ', ';'])
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .collect();
        let timetable = entries.len() > 1 || entries.first().is_some_and(|e| e.contains(','));
        if !timetable {
            let rate = parse_rate(entries.first().copied().unwrap_or("off"))?;
            return Ok(BwLimit {
                slots: vec![Slot {
                    weekday: None,
                    minute: 0,
                    rate,
                }],
            });
        }
        let mut slots = Vec::new();
        for e in entries {
            let (time, rate) = e.split_once(',').ok_or_else(|| {
                format!("invalid --bwlimit timetable entry {e:?}: use HH:MM,RATE")
            })?;
            let (weekday, minute) = parse_time(time.trim())?;
            slots.push(Slot {
                weekday,
                minute,
                rate: parse_rate(rate)?,
            });
        }
        Ok(BwLimit { slots })
    }

    /// The rate in force at `minute` of `weekday` (0 = Monday): the latest entry at or
    /// before that moment, going back round the week (or day) to the last one.
    pub fn at(&self, weekday: u32, minute: u32) -> Rate {
        let week_minute = |s: &Slot, today: u32| s.weekday.unwrap_or(today) * 1440 + s.minute;
        let now = weekday * 1440 + minute;
        let key = |s: &Slot| {
            let t = week_minute(s, weekday);
            // Minutes since the entry began, within a week.
            (now + 7 * 1440 - t) % (7 * 1440)
        };
        self.slots
            .iter()
            .min_by_key(|s| key(s))
            .map(|s| s.rate)
            .unwrap_or_default()
    }

    /// Whether the rate changes with the time of day (more than one entry).
    pub fn is_timetable(&self) -> bool {
        self.slots.len() > 1
    }

    /// The rate in force now, by the local clock.
    pub fn now(&self) -> Rate {
        use chrono::{Datelike, Timelike};
        let t = chrono::Local::now();
        self.at(
            t.weekday().num_days_from_monday(),
            t.hour() * 60 + t.minute(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: u64 = 1024;

    #[test]
    fn single_and_split_rates() {
        let r = BwLimit::parse("10M").unwrap().at(0, 0);
        assert_eq!(
            r,
            Rate {
                up: Some(10 * K * K),
                down: Some(10 * K * K)
            }
        );
        let r = BwLimit::parse("10M:100k").unwrap().at(3, 600);
        assert_eq!(
            r,
            Rate {
                up: Some(10 * K * K),
                down: Some(100 * K)
            }
        );
        assert_eq!(r.for_direction(Direction::Both), Some(100 * K));
        let r = BwLimit::parse("off:1M").unwrap().at(0, 0);
        assert_eq!(r.for_direction(Direction::Upload), None);
        assert_eq!(r.for_direction(Direction::Both), Some(K * K));
        assert_eq!(BwLimit::parse("512").unwrap().at(0, 0).up, Some(512 * K));
        assert_eq!(BwLimit::parse("off").unwrap().at(0, 0), Rate::default());
    }

    #[test]
    fn timetables_pick_the_entry_in_force() {
        let t = BwLimit::parse("08:00,512k 12:00,off 18:00,1M:2M").unwrap();
        assert_eq!(t.at(2, 9 * 60).up, Some(512 * K));
        assert_eq!(t.at(2, 13 * 60).up, None);
        assert_eq!(t.at(2, 19 * 60).down, Some(2 * K * K));
        // Before the first entry of the day: the last one of the day before.
        assert_eq!(t.at(2, 7 * 60).up, Some(K * K));
        let w = BwLimit::parse("Mon-08:00,512k;Sat-00:00,off").unwrap();
        assert_eq!(w.at(0, 9 * 60).up, Some(512 * K));
        assert_eq!(w.at(4, 9 * 60).up, Some(512 * K));
        assert_eq!(w.at(5, 9 * 60).up, None);
        assert_eq!(w.at(0, 7 * 60).up, None);
    }

    #[test]
    fn bad_forms_are_errors() {
        for bad in [
            "25:00,1M",
            "Xyz-08:00,1M",
            "08:00,-1",
            "1M:2M:3M",
            "99999999P",
            "8:00,1M",
        ] {
            assert!(BwLimit::parse(bad).is_err(), "{bad}");
        }
    }
}
