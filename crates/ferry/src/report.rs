//! The stats block rclone prints, the `-P` progress display, and `--summary-file`.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry_core::units::byte_unit;
use ferry_engine::{Action, ActionKind, Observer, Stats, StatsSnapshot};
use serde_json::json;

fn percent(done: u64, total: u64) -> String {
    if total == 0 {
        "-".into()
    } else {
        format!("{}%", (done * 100) / total.max(1))
    }
}

fn speed(s: &StatsSnapshot) -> u64 {
    let secs = s.elapsed.as_secs_f64();
    if secs > 0.0 {
        (s.bytes as f64 / secs) as u64
    } else {
        0
    }
}

fn eta(s: &StatsSnapshot) -> String {
    let rate = speed(s);
    if rate == 0 || s.bytes_total <= s.bytes {
        return "-".into();
    }
    format_elapsed(Duration::from_secs((s.bytes_total - s.bytes) / rate))
}

/// rclone's elapsed-time form: `0.1s`, `12.3s`, `1m2.5s`, `1h2m3.0s`.
pub fn format_elapsed(d: Duration) -> String {
    let secs = d.as_secs_f64();
    let (h, m) = ((secs / 3600.0) as u64, ((secs % 3600.0) / 60.0) as u64);
    let s = secs % 60.0;
    match (h, m) {
        (0, 0) => format!("{s:.1}s"),
        (0, _) => format!("{m}m{s:.1}s"),
        _ => format!("{h}h{m}m{s:.1}s"),
    }
}

/// The multi-line stats block, as rclone prints it.
pub fn block(s: &StatsSnapshot) -> String {
    let mut out = String::new();
    let bytes_total = s.bytes_total.max(s.bytes);
    out.push_str(&format!(
        "\nTransferred:   \t{:>13} / {}, {}, {}/s, ETA {}\n",
        byte_unit(s.bytes),
        byte_unit(bytes_total),
        percent(s.bytes, bytes_total),
        byte_unit(speed(s)),
        eta(s)
    ));
    if s.errors > 0 {
        out.push_str(&format!("Errors:        {:>10}\n", s.errors));
    }
    if s.checks_total > 0 || s.listed > 0 {
        out.push_str(&format!(
            "Checks:        {:>10} / {}, {}, Listed {}\n",
            s.checks,
            s.checks_total.max(s.checks),
            percent(s.checks, s.checks_total.max(s.checks)),
            s.listed
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
    if s.transfers_total > 0 || s.transfers > 0 {
        let total = s.transfers_total.max(s.transfers);
        out.push_str(&format!(
            "Transferred:   {:>10} / {}, {}\n",
            s.transfers,
            total,
            percent(s.transfers, total)
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
    out
}

/// `--stats-one-line`: `1.000 MiB / 2.000 MiB, 50%, 1.000 MiB/s, ETA 1.0s`.
pub fn one_line(s: &StatsSnapshot) -> String {
    let total = s.bytes_total.max(s.bytes);
    let mut line = format!(
        "{} / {}, {}, {}/s, ETA {}",
        byte_unit(s.bytes),
        byte_unit(total),
        percent(s.bytes, total),
        byte_unit(speed(s)),
        eta(s)
    );
    if s.errors > 0 {
        line.push_str(&format!(" ({} errors)", s.errors));
    }
    line
}

/// The final stats as one JSON object (`--use-json-log`), with rclone's field names.
pub fn json(s: &StatsSnapshot) -> serde_json::Value {
    json!({
        "stats": {
            "bytes": s.bytes,
            "totalBytes": s.bytes_total.max(s.bytes),
            "transfers": s.transfers,
            "totalTransfers": s.transfers_total.max(s.transfers),
            "checks": s.checks,
            "totalChecks": s.checks_total.max(s.checks),
            "listed": s.listed,
            "deletes": s.deletes,
            "deletedDirs": s.deleted_dirs,
            "renames": s.renames,
            "errors": s.errors,
            "serverSideCopies": s.server_side,
            "serverSideCopyBytes": s.server_side_bytes,
            "serverSideMoves": s.server_side_moves,
            "serverSideMoveBytes": s.server_side_move_bytes,
            "elapsedTime": s.elapsed.as_secs_f64(),
            "speed": speed(s),
        }
    })
}

/// Live `-P` display on stderr.
pub fn progress_bar(stats: Arc<Stats>) -> indicatif::ProgressBar {
    let pb = indicatif::ProgressBar::new_spinner();
    pb.set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(4));
    pb.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    let bar = pb.clone();
    std::thread::spawn(move || {
        while !bar.is_finished() {
            let s = stats.snapshot();
            bar.set_message(format!(
                "{} | checks {}/{} | transfers {}/{} | elapsed {}",
                one_line(&s),
                s.checks,
                s.checks_total,
                s.transfers,
                s.transfers_total,
                format_elapsed(s.elapsed)
            ));
            bar.tick();
            std::thread::sleep(Duration::from_millis(250));
        }
    });
    pb
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
