//! The stats rclone prints (block, one line, JSON object) and `--summary-file`; the
//! live `-P` display that draws them is `progress.rs`.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ferry_core::units::{bit_rate_unit, byte_unit};
use ferry_engine::{Action, ActionKind, FlightSnapshot, Observer, StatsSnapshot};
use serde_json::json;

/// rclone's percentage: rounded to the nearest whole number, `-` without a total.
fn percent(done: u64, total: u64) -> String {
    if total == 0 {
        "-".into()
    } else {
        format!("{}%", (done as f64 * 100.0 / total as f64 + 0.5) as u64)
    }
}

/// A speed as rclone shows it: `8.149 MiB/s`, `0 B/s`.
fn rate(bytes_per_sec: f64) -> String {
    let bytes = bytes_per_sec.max(0.0);
    if BITS.load(Ordering::Relaxed) {
        return bit_rate_unit((bytes * 8.0) as u64);
    }
    format!("{}/s", byte_unit(bytes as u64))
}

/// `--stats-unit bits`: speeds in bits per second, set once before any stats are shown.
static BITS: AtomicBool = AtomicBool::new(false);

pub fn set_bit_rates(on: bool) {
    BITS.store(on, Ordering::Relaxed);
}

/// `12,345`: a count with thousands separated, for the still-growing "Listed" count.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The whole-seconds time left at `speed`, or `None` when it can't be known.
fn eta_secs(done: u64, total: u64, speed: f64) -> Option<u64> {
    if total == 0 || speed <= 0.0 || done > total {
        return None;
    }
    Some(((total - done) as f64 / speed) as u64)
}

/// Whole seconds in rclone's short readable form, three units at most: `0s`, `42s`,
/// `1m30s`, `2h5m7s`, `3d23h47m`.
pub fn readable(secs: u64) -> String {
    if secs == 0 {
        return "0s".into();
    }
    const DAY: u64 = 86_400;
    let (years, in_year) = (secs / (365 * DAY), secs % (365 * DAY));
    let units = [
        (years, "y"),
        (in_year / (7 * DAY), "w"),
        (in_year % (7 * DAY) / DAY, "d"),
        (secs % DAY / 3600, "h"),
        (secs % 3600 / 60, "m"),
        (secs % 60, "s"),
    ];
    units
        .iter()
        .filter(|(v, _)| *v > 0)
        .take(3)
        .map(|(v, u)| format!("{v}{u}"))
        .collect()
}

/// rclone's elapsed time: seconds to a tenth, after whole minutes and larger units
/// (`0.5s`, `1m2.5s`, `1h3m0.0s`).
pub fn format_elapsed(d: Duration) -> String {
    let tenths = d.as_millis() / 100;
    let minutes = (tenths / 600) as u64;
    let seconds = (tenths % 600) as f64 / 10.0;
    let whole = if minutes == 0 {
        String::new()
    } else {
        readable_all(minutes * 60)
    };
    format!("{}{seconds:.1}s", whole.trim_end_matches(['0', 's']))
}

/// Every unit of a whole-seconds duration (rclone's long readable form).
fn readable_all(secs: u64) -> String {
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    );
    [(d, "d"), (h, "h"), (m, "m"), (s, "s")]
        .iter()
        .filter(|(v, _)| *v > 0)
        .map(|(v, u)| format!("{v}{u}"))
        .collect()
}

/// A name cut to `width` characters with an ellipsis in the middle, as rclone shortens.
fn shorten(name: &str, width: usize) -> String {
    let chars: Vec<char> = name.chars().collect();
    if chars.len() <= width {
        return name.to_owned();
    }
    let keep = width - 1;
    let (head, tail) = (keep - keep / 2, keep / 2);
    let mut out: String = chars[..head].iter().collect();
    out.push('…');
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// `--stats-file-name-length` (rclone's default 45; 0: names whole, unpadded), set once
/// before any stats are shown.
static NAME_WIDTH: AtomicUsize = AtomicUsize::new(45);

pub fn set_name_width(width: usize) {
    NAME_WIDTH.store(width, Ordering::Relaxed);
}

/// The average transfer rate since the transfers began (the final stats, and before a
/// [`Meter`] has a second of samples).
fn average_speed(s: &StatsSnapshot) -> f64 {
    let t = if s.transfer_time.is_zero() {
        s.elapsed
    } else {
        s.transfer_time
    };
    let secs = t.as_secs_f64();
    if secs > 0.0 {
        s.bytes as f64 / secs
    } else {
        0.0
    }
}

/// The run's current speed: a moving average of each second's rate over up to 16
/// seconds (as rclone's), fed by whoever draws the stats.
#[derive(Default)]
pub struct Meter {
    state: Mutex<MeterState>,
}

#[derive(Default)]
struct MeterState {
    last: Option<(Instant, u64)>,
    speed: f64,
    periods: f64,
}

impl Meter {
    /// The speed as of `s`, updating the average once a second has passed.
    pub fn speed(&self, s: &StatsSnapshot) -> f64 {
        let mut m = self.state.lock().expect("meter");
        let now = Instant::now();
        match m.last {
            None => m.last = Some((now, s.bytes)),
            Some((at, bytes)) => {
                let dt = now.duration_since(at).as_secs_f64();
                if dt >= 1.0 {
                    let current = s.bytes.saturating_sub(bytes) as f64 / dt;
                    m.periods = (m.periods + 1.0).min(16.0);
                    m.speed = (current + m.speed * (m.periods - 1.0)) / m.periods;
                    m.last = Some((now, s.bytes));
                }
            }
        }
        if m.periods == 0.0 {
            average_speed(s)
        } else {
            m.speed
        }
    }
}

/// What a stats block or line shows besides the snapshot's counters: the speed (whether
/// the totals are final is the snapshot's own `totals_final`).
#[derive(Clone, Copy)]
pub struct View {
    pub speed: f64,
}

impl View {
    /// The final stats of a run that ended: its average speed, every total final.
    pub fn ended(s: &StatsSnapshot) -> View {
        View {
            speed: average_speed(s),
        }
    }
}

/// A total, marked `…` while it may still grow.
fn total(n: String, s: &StatsSnapshot) -> String {
    if s.totals_final {
        n
    } else {
        format!("{n}…")
    }
}

/// The byte figures every form starts with: `8.124 MiB / 20.028 MiB, 41%, 8 MiB/s, ETA 2s`.
/// While the totals may still grow there is no percentage and no ETA.
fn bytes_part(s: &StatsSnapshot, v: View) -> String {
    let total_bytes = s.bytes_total.max(s.bytes);
    let (pct, eta) = if s.totals_final {
        (
            percent(s.bytes, total_bytes),
            eta_secs(s.bytes, total_bytes, v.speed).map_or_else(|| "-".into(), readable),
        )
    } else {
        ("-".into(), "-".into())
    };
    format!(
        "{:>13} / {}, {pct}, {}, ETA {eta}",
        byte_unit(s.bytes),
        total(byte_unit(total_bytes), s),
        rate(v.speed),
    )
}

fn listed(s: &StatsSnapshot) -> String {
    if s.listing_done {
        s.listed.to_string()
    } else {
        format!("{}…", grouped(s.listed))
    }
}

/// The multi-line stats block, as rclone prints it (starting with a newline), with the
/// transfers under way.
pub fn block(s: &StatsSnapshot, v: View) -> String {
    let mut out = format!("\nTransferred:   \t{}\n", bytes_part(s, v));
    if s.errors > 0 {
        // rclone's hint of whether `--retries` could help.
        let why = if s.retry_error {
            "retrying may help"
        } else {
            "no need to retry"
        };
        out.push_str(&format!("Errors:        {:>10} ({why})\n", s.errors));
    }
    let checks_total = s.checks_total.max(s.checks);
    if checks_total > 0 || s.listed > 0 {
        let pct = if s.totals_final {
            percent(s.checks, checks_total)
        } else {
            "-".into()
        };
        out.push_str(&format!(
            "Checks:        {:>10} / {}, {pct}, Listed {}\n",
            s.checks,
            total(checks_total.to_string(), s),
            listed(s)
        ));
    }
    if s.deletes > 0 || s.deleted_dirs > 0 {
        out.push_str(&format!(
            "Deleted:       {:>10} (files), {} (dirs), {} (freed)\n",
            s.deletes,
            s.deleted_dirs,
            byte_unit(s.deleted_bytes)
        ));
    }
    if s.renames > 0 {
        out.push_str(&format!("Renamed:       {:>10}\n", s.renames));
    }
    let transfers_total = s.transfers_total.max(s.transfers);
    if transfers_total > 0 {
        let pct = if s.totals_final {
            percent(s.transfers, transfers_total)
        } else {
            "-".into()
        };
        out.push_str(&format!(
            "Transferred:   {:>10} / {}, {pct}\n",
            s.transfers,
            total(transfers_total.to_string(), s),
        ));
    }
    if s.server_side > 0 || s.server_side_bytes > 0 {
        out.push_str(&format!(
            "Server Side Copies:{:>6} @ {}\n",
            s.server_side,
            byte_unit(s.server_side_bytes)
        ));
    }
    if s.server_side_moves > 0 || s.server_side_move_bytes > 0 {
        out.push_str(&format!(
            "Server Side Moves:{:>7} @ {}\n",
            s.server_side_moves,
            byte_unit(s.server_side_move_bytes)
        ));
    }
    out.push_str(&format!(
        "Elapsed time:  {:>11}\n",
        format_elapsed(s.elapsed)
    ));
    if !s.transferring.is_empty() {
        out.push_str("Transferring:\n");
        for f in &s.transferring {
            out.push_str(&format!(" * {}\n", flight_line(f)));
        }
    }
    out
}

/// A file's own speed: its bytes over the time since it started.
fn flight_speed(f: &FlightSnapshot) -> f64 {
    let secs = f.elapsed.as_secs_f64();
    if secs > 0.0 {
        f.bytes as f64 / secs
    } else {
        0.0
    }
}

fn flight_percent(f: &FlightSnapshot) -> u64 {
    (f.bytes * 100).checked_div(f.size).unwrap_or(0)
}

/// One line of the `Transferring:` list: `name: 42% / 1.335 MiB, 2 MiB/s, 3s`.
fn flight_line(f: &FlightSnapshot) -> String {
    flight_line_in(f, NAME_WIDTH.load(Ordering::Relaxed))
}

/// [`flight_line`] with the name in `width` characters.
fn flight_line_in(f: &FlightSnapshot, width: usize) -> String {
    let speed = flight_speed(f);
    let eta =
        eta_secs(f.bytes, f.size, speed).map_or_else(|| "-".into(), ferry_core::units::go_duration);
    let name = match width {
        0 => f.name.clone(),
        w => shorten(&f.name, w),
    };
    let pad = width.saturating_sub(name.chars().count());
    format!(
        "{}{name}:{:>3}% / {}, {}, {eta}",
        " ".repeat(pad),
        flight_percent(f),
        byte_unit(f.size),
        rate(speed)
    )
}

/// `--stats-one-line`, and the date `--stats-one-line-date[-format]` puts before it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OneLine {
    /// A Go time layout, taken as given (rclone keeps even the quotes its help mentions).
    pub date: Option<String>,
}

impl OneLine {
    /// rclone's layout for `--stats-one-line-date`.
    pub const DATE: &'static str = "2006/01/02 15:04:05 - ";

    /// The one-line stats, after the local date and time when asked for.
    pub fn render(&self, s: &StatsSnapshot, v: View) -> String {
        let line = one_line(s, v);
        match &self.date {
            Some(layout) => {
                let now = crate::cmd::listing::local(std::time::SystemTime::now());
                format!("{}{line}", ferry_core::timefmt::go_format(&now, layout))
            }
            None => line,
        }
    }
}

/// `--stats-one-line`: `    1.000 MiB / 2.000 MiB, 50%, 1.000 MiB/s, ETA 1s (xfr#1/2)`.
pub fn one_line(s: &StatsSnapshot, v: View) -> String {
    let mut line = bytes_part(s, v);
    let mut queues = Vec::new();
    let under_way = s.transferring.len() as u64;
    let transfers_total = s.transfers_total.max(s.transfers);
    if transfers_total > s.transfers + under_way || !s.totals_final {
        queues.push(format!(
            "xfr#{}/{}",
            s.transfers,
            total(transfers_total.to_string(), s)
        ));
    }
    if s.checks_total > s.checks {
        queues.push(format!("chk#{}/{}", s.checks, s.checks_total));
    }
    if !s.listing_done {
        queues.push(format!("listed {}", listed(s)));
    }
    if !queues.is_empty() {
        line.push_str(&format!(" ({})", queues.join(", ")));
    }
    if s.errors > 0 {
        line.push_str(&format!(" ({} errors)", s.errors));
    }
    line
}

/// rclone's stats object (`--use-json-log`): the `stats` field with rclone's names,
/// types and units (bytes, seconds, bytes per second; `eta` null when unknown).
pub fn json(s: &StatsSnapshot, v: View) -> serde_json::Value {
    let total_bytes = s.bytes_total.max(s.bytes);
    let eta = eta_secs(s.bytes, total_bytes, v.speed).filter(|_| s.totals_final);
    let mut stats = json!({
        "bytes": s.bytes,
        "checks": s.checks,
        "deletedDirs": s.deleted_dirs,
        "deletes": s.deletes,
        "elapsedTime": s.elapsed.as_secs_f64(),
        "errors": s.errors,
        "eta": eta,
        "fatalError": false,
        "listed": s.listed,
        "renames": s.renames,
        "retryError": s.retry_error,
        "serverSideCopies": s.server_side,
        "serverSideCopyBytes": s.server_side_bytes,
        "serverSideMoveBytes": s.server_side_move_bytes,
        "serverSideMoves": s.server_side_moves,
        "speed": v.speed,
        "totalBytes": total_bytes,
        "totalChecks": s.checks_total.max(s.checks),
        "totalTransfers": s.transfers_total.max(s.transfers),
        "transferTime": s.transfer_time.as_secs_f64(),
        "transfers": s.transfers,
    });
    if !s.transferring.is_empty() {
        stats["transferring"] = s.transferring.iter().map(|f| flight_json(f, s)).collect();
    }
    if let Some(e) = s.last_error.as_ref().filter(|_| s.errors > 0) {
        stats["lastError"] = e.as_str().into();
    }
    json!({ "stats": stats })
}

fn flight_json(f: &FlightSnapshot, s: &StatsSnapshot) -> serde_json::Value {
    let speed = flight_speed(f);
    json!({
        "bytes": f.bytes,
        "dstFs": s.dst_label,
        "eta": eta_secs(f.bytes, f.size, speed),
        "group": "global_stats",
        "name": f.name,
        "percentage": flight_percent(f),
        "size": f.size,
        "speed": speed,
        "speedAvg": speed,
        "srcFs": s.src_label,
    })
}

/// Records every action for `--summary-file`.
#[derive(Default)]
pub struct Summary {
    actions: Mutex<Vec<Action>>,
}

impl Observer for Summary {
    fn action(&self, action: &Action) {
        self.actions.lock().expect("summary").push(action.clone());
    }
}

impl Summary {
    pub fn write(
        &self,
        path: &Path,
        command: &str,
        stats: &StatsSnapshot,
        exit_code: i32,
        last_error: Option<&str>,
        shard: Option<(crate::shard::Shard, String)>,
    ) -> anyhow::Result<()> {
        use anyhow::Context as _;
        let actions = self.actions.lock().expect("summary");
        let count = |k: ActionKind| actions.iter().filter(|a| a.kind == k).count();
        let doc = json!({
            "command": command,
            "exit_code": exit_code,
            "success": exit_code == 0,
            // A shard's summary says which of the split it was, for --shard-summaries.
            // `by`: what the files were split by (`path`, or `subtree:<split directory>`).
            "shard": shard.map(|(s, by)| json!({"index": s.index, "count": s.count, "by": by})),
            "duration_seconds": stats.elapsed.as_secs_f64(),
            "bytes_transferred": stats.bytes,
            "files_transferred": stats.transfers,
            "checks": stats.checks,
            "listed": stats.listed,
            "deleted_files": stats.deletes,
            "deleted_dirs": stats.deleted_dirs,
            "renamed": stats.renames,
            "errors": stats.errors,
            "last_error": last_error,
            "counts": {
                "copied_new": count(ActionKind::CopiedNew),
                "copied_replaced": count(ActionKind::CopiedReplaced),
                "moved": count(ActionKind::Moved),
                "deleted": count(ActionKind::Deleted),
                "modtime_updated": count(ActionKind::ModtimeUpdated),
                "backed_up": count(ActionKind::BackedUp),
                "skipped_dry_run": count(ActionKind::SkippedDryRun),
                "error": count(ActionKind::Error),
            },
            "actions": actions.iter().map(|a| json!({
                "path": a.path,
                "action": a.kind.as_str(),
                "size": a.size,
                "error": a.error,
            })).collect::<Vec<_>>(),
        });
        let text = serde_json::to_string_pretty(&doc)?;
        let tmp = path.with_extension("tmp-ferry");
        std::fs::write(&tmp, text + "\n")
            .and_then(|_| std::fs::rename(&tmp, path))
            .with_context(|| format!("can't write --summary-file {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap() -> StatsSnapshot {
        StatsSnapshot {
            elapsed: Duration::from_millis(62_540),
            bytes: 8 * 1024 * 1024,
            bytes_total: 20 * 1024 * 1024,
            transfers: 205,
            transfers_total: 220,
            listed: 12_345,
            transfer_time: Duration::from_secs(2),
            ..Default::default()
        }
    }

    #[test]
    fn numbers_sizes_and_times_are_formatted_as_rclone_formats_them() {
        assert_eq!(percent(219, 220), "100%", "rounded to nearest, as rclone");
        assert_eq!(percent(1, 3), "33%");
        assert_eq!(percent(0, 0), "-");
        assert_eq!(rate(8.0 * 1024.0 * 1024.0 + 1000.0), "8.001 MiB/s");
        assert_eq!(rate(0.0), "0 B/s");
        assert_eq!(readable(0), "0s");
        assert_eq!(readable(90), "1m30s");
        assert_eq!(readable(2 * 86_400 + 3 * 3600 + 4 * 60 + 5), "2d3h4m");
        assert_eq!(format_elapsed(Duration::from_millis(500)), "0.5s");
        assert_eq!(format_elapsed(Duration::from_millis(62_540)), "1m2.5s");
        assert_eq!(format_elapsed(Duration::from_secs(3600)), "1h0.0s");
        assert_eq!(format_elapsed(Duration::from_secs(3600 + 600)), "1h10m0.0s");
        assert_eq!(grouped(12_345), "12,345");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000_000), "1,000,000");
        let long = "a/".repeat(30) + "end.bin";
        let short = shorten(&long, 45);
        assert_eq!(short.chars().count(), 45);
        assert!(short.starts_with("a/a/") && short.ends_with("end.bin") && short.contains('…'));
    }

    #[test]
    fn while_listing_the_totals_say_so_and_there_is_no_percentage_or_eta() {
        let s = snap();
        let view = View { speed: 1e6 };
        let text = block(&s, view);
        assert!(
            text.contains("Transferred:   \t        8 MiB / 20 MiB…, -, 976.562 KiB/s, ETA -\n"),
            "{text}"
        );
        assert!(
            text.contains("Checks:                 0 / 0…, -, Listed 12,345…\n"),
            "{text}"
        );
        assert!(
            text.contains("Transferred:          205 / 220…, -\n"),
            "{text}"
        );
        assert!(text.contains("Elapsed time:       1m2.5s\n"), "{text}");
        let line = one_line(&s, view);
        assert_eq!(
            line,
            "        8 MiB / 20 MiB…, -, 976.562 KiB/s, ETA - (xfr#205/220…, listed 12,345…)"
        );
    }

    #[test]
    fn final_totals_give_rclones_block_with_eta_and_transfers_under_way() {
        let mut s = snap().ended();
        s.transferring = vec![FlightSnapshot {
            name: "a/f14.bin".into(),
            size: 1_400_000,
            bytes: 700_000,
            elapsed: Duration::from_secs(1),
        }];
        let text = block(
            &s,
            View {
                speed: 1024.0 * 1024.0,
            },
        );
        let want = "\nTransferred:   \t        8 MiB / 20 MiB, 40%, 1 MiB/s, ETA 12s\n\
Checks:                 0 / 0, -, Listed 12345\n\
Transferred:          205 / 220, 93%\n\
Elapsed time:       1m2.5s\n\
Transferring:\n \
*                                     a/f14.bin: 50% / 1.335 MiB, 683.594 KiB/s, 1s\n";
        assert_eq!(text, want);
        assert_eq!(
            one_line(
                &s,
                View {
                    speed: 1024.0 * 1024.0
                }
            ),
            "        8 MiB / 20 MiB, 40%, 1 MiB/s, ETA 12s (xfr#205/220)"
        );
    }

    #[test]
    fn stats_file_name_length_cuts_and_pads_the_name() {
        let f = FlightSnapshot {
            name: "dir/a-rather-long-name.bin".into(),
            size: 1_400_000,
            bytes: 700_000,
            elapsed: Duration::from_secs(1),
        };
        let tail = ": 50% / 1.335 MiB, 683.594 KiB/s, 1s";
        assert_eq!(flight_line_in(&f, 10), format!("dir/a….bin{tail}"));
        assert_eq!(
            flight_line_in(&f, 0),
            format!("dir/a-rather-long-name.bin{tail}")
        );
        assert_eq!(
            flight_line_in(&f, 30),
            format!("    dir/a-rather-long-name.bin{tail}")
        );
    }

    #[test]
    fn the_json_object_has_rclones_fields_types_and_units() {
        let mut s = snap().ended();
        s.errors = 1;
        s.last_error = Some("boom".into());
        s.transferring = vec![FlightSnapshot {
            name: "x".into(),
            size: 10,
            bytes: 5,
            elapsed: Duration::from_secs(1),
        }];
        let v = json(&s, View { speed: 2.5 });
        let st = &v["stats"];
        assert_eq!(st["bytes"], 8 * 1024 * 1024);
        assert!(st["bytes"].is_u64() && st["speed"].is_f64() && st["elapsedTime"].is_f64());
        // 12 MiB left at 2.5 bytes a second, in whole seconds.
        assert_eq!(st["eta"], 5_033_164);
        assert_eq!(st["lastError"], "boom");
        assert_eq!(st["transferring"][0]["percentage"], 50);
        assert_eq!(st["transferring"][0]["group"], "global_stats");
        assert!(block(&s, View { speed: 2.5 })
            .contains("Errors:                 1 (no need to retry)\n"));
        let listing = json(&snap(), View { speed: 2.5 });
        assert!(listing["stats"]["eta"].is_null(), "no ETA while listing");
        assert!(
            listing["stats"].get("transferring").is_none(),
            "left out when empty"
        );
    }
}
