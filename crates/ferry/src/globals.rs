//! What every command shares once the settings are resolved: logging, the remotes, and
//! the live display of a run.

use std::sync::Arc;

use ferry_engine::{Stats, StatsSnapshot};

use crate::args::Level;
use crate::{logging, open, report, settings};

/// What every command shares: logging, local backend flags, output coordination.
pub struct Globals {
    pub log: settings::Log,
    pub output: settings::Output,
    pub remotes: open::Remotes,
    pub sink: logging::Sink,
}

/// The live output of a run (progress bar, periodic stats); stopped by `finish`.
pub struct Display {
    bar: Option<indicatif::ProgressBar>,
    ticker: Option<tokio::task::JoinHandle<()>>,
    sink: logging::Sink,
}

impl Display {
    pub fn finish(self) {
        if let Some(t) = self.ticker {
            t.abort();
        }
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
            self.sink.detach_progress();
        }
    }
}

impl Globals {
    fn verbose(&self) -> bool {
        self.log.level >= Level::Info
    }

    pub fn start_display(&self, stats: &Arc<Stats>) -> Display {
        let bar = (self.output.progress && !self.sink.is_file()).then(|| {
            let bar = report::progress_bar(stats.clone());
            self.sink.attach_progress(bar.clone());
            bar
        });
        let interval = self.output.stats_interval;
        let ticker = (self.verbose() && !interval.is_zero()).then(|| {
            let (stats, sink, format, one) = (
                stats.clone(),
                self.sink.clone(),
                self.log.format,
                self.output.stats_one_line,
            );
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(interval);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    emit_stats(&sink, format, one, &stats.snapshot(), tracing::Level::INFO);
                }
            })
        });
        Display {
            bar,
            ticker,
            sink: self.sink.clone(),
        }
    }

    /// The final stats block: with `-v`, `-P` or `--stats` (and, as rclone, at NOTICE
    /// level for a dry run), as rclone prints it.
    pub fn final_stats(&self, snap: &StatsSnapshot, dry_run: bool) {
        let shown = self.verbose() || self.output.progress || self.output.stats_given;
        let notice = dry_run && self.log.level >= Level::Notice;
        if shown || notice {
            let level = if shown {
                tracing::Level::INFO
            } else {
                tracing::Level::WARN
            };
            let (format, one) = (self.log.format, self.output.stats_one_line);
            emit_stats(&self.sink, format, one, snap, level);
        }
    }
}

impl Globals {
    /// A watch pass's stats: always shown (at NOTICE), as one line, or one JSON object
    /// with `--use-json-log`, so a service's log has a line per pass.
    pub fn pass_stats(&self, pass: u64, snap: &StatsSnapshot) {
        let one = !self.verbose() || self.output.stats_one_line;
        let format = self.log.format;
        let text = if one {
            format!("watch pass {pass}: {}", report::one_line(snap))
        } else {
            format!("watch pass {pass}:{}", report::block(snap))
        };
        let extra = format.json.then(|| {
            let mut v = report::json(snap);
            v["watchPass"] = pass.into();
            v
        });
        logging::raw_line(&self.sink, format, &tracing::Level::WARN, &text, extra);
    }
}

fn emit_stats(
    sink: &logging::Sink,
    format: logging::LogFormat,
    one_line: bool,
    snap: &StatsSnapshot,
    level: tracing::Level,
) {
    let text = if one_line {
        report::one_line(snap)
    } else {
        report::block(snap)
    };
    let extra = format.json.then(|| report::json(snap));
    logging::raw_line(sink, format, &level, &text, extra);
}
