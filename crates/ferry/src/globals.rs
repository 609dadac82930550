//! What every command shares once the settings are resolved: logging, the remotes, and
//! the live display of a run.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry_engine::{Stats, StatsSnapshot};

use crate::args::Level;
use crate::{logging, open, progress, report, settings};

/// What every command shares: logging, local backend flags, output coordination.
pub struct Globals {
    pub log: settings::Log,
    pub output: settings::Output,
    pub remotes: open::Remotes,
    pub sink: logging::Sink,
}

/// The live output of a run (the `-P` display, periodic stats lines); stopped by `finish`.
pub struct Display {
    live: Option<progress::Live>,
    ticker: Option<tokio::task::JoinHandle<()>>,
    sink: logging::Sink,
}

impl Display {
    /// Stops the display; a live one leaves the final stats on screen.
    pub fn finish(self) {
        if let Some(t) = self.ticker {
            t.abort();
        }
        if let Some(live) = self.live {
            live.finish();
            self.sink.detach_progress();
        }
    }
}

/// How often `-P` redraws (rclone's), unless `--stats` says otherwise.
const REDRAW: Duration = Duration::from_millis(500);

impl Globals {
    fn verbose(&self) -> bool {
        self.log.level >= Level::Info
    }

    /// Whether `-P` shows its display (on stdout, as rclone's, terminal or not).
    fn live(&self) -> bool {
        self.output.progress
    }

    /// Starts the display of a run. `interrupt`: Ctrl-C ends the process once the display
    /// has left its last frame (a plain run; a watch handles its own signals).
    pub fn start_display(&self, stats: &Arc<Stats>, interrupt: bool) -> Display {
        let given = self.output.stats_given && !self.output.stats_interval.is_zero();
        let live = self.live().then(|| {
            let screen = Arc::new(Mutex::new(progress::Screen::for_stdout()));
            self.sink.attach_progress(screen.clone());
            let every = if given {
                self.output.stats_interval
            } else {
                REDRAW
            };
            progress::Live::start(
                stats.clone(),
                screen,
                every,
                self.output.stats_one_line.clone(),
                interrupt,
                self.output.terminal_title,
            )
        });
        // Without -P, -v gives stats lines; `--stats 0` turns them off, as in rclone.
        let interval = self.output.stats_interval;
        let stats_level = self.output.stats_level;
        let lines = live.is_none() && self.log.level >= stats_level;
        let ticker = (lines && !interval.is_zero()).then(|| {
            let (stats, sink, format, one) = (
                stats.clone(),
                self.sink.clone(),
                self.log.format,
                self.output.stats_one_line.clone(),
            );
            tokio::spawn(async move {
                let meter = report::Meter::default();
                let mut tick = tokio::time::interval(interval);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    let snap = stats.snapshot();
                    let view = report::View {
                        speed: meter.speed(&snap),
                    };
                    let level = logging::tracing_level(stats_level);
                    emit_stats(&sink, format, &one, &snap, view, level);
                }
            })
        });
        Display {
            live,
            ticker,
            sink: self.sink.clone(),
        }
    }

    /// The final stats block: with `-v`, `-P` or `--stats` (and, as rclone, at NOTICE
    /// level for a dry run), as rclone prints it. A live `-P` display already left it on
    /// the screen.
    pub fn final_stats(&self, snap: &StatsSnapshot, dry_run: bool) {
        let snap = snap.clone().ended();
        let by_level = self.log.level >= self.output.stats_level;
        let shown = by_level || self.output.progress || self.output.stats_given;
        let notice = dry_run && self.log.level >= Level::Notice;
        let on_screen = self.live() && !self.sink.is_file();
        if (shown || notice) && !on_screen {
            let level = match (by_level, shown) {
                (true, _) => logging::tracing_level(self.output.stats_level),
                (false, true) => tracing::Level::INFO,
                (false, false) => tracing::Level::WARN,
            };
            let (format, one) = (self.log.format, &self.output.stats_one_line);
            let view = report::View::ended(&snap);
            emit_stats(&self.sink, format, one, &snap, view, level);
        }
    }
}

impl Globals {
    /// A watch pass's stats: always shown (at NOTICE), as one line, or one JSON object
    /// with `--use-json-log`, so a service's log has a line per pass.
    pub fn pass_stats(&self, pass: u64, snap: &StatsSnapshot) {
        let snap = snap.clone().ended();
        let view = report::View::ended(&snap);
        let one = match &self.output.stats_one_line {
            Some(one) => Some(one.clone()),
            None => (!self.verbose()).then(report::OneLine::default),
        };
        let format = self.log.format;
        let text = if let Some(one) = one {
            format!("watch pass {pass}: {}", one.render(&snap, view))
        } else {
            format!("watch pass {pass}:{}", report::block(&snap, view))
        };
        let extra = format.json.then(|| {
            let mut v = report::json(&snap, view);
            v["watchPass"] = pass.into();
            v
        });
        logging::raw_line(&self.sink, format, &tracing::Level::WARN, &text, extra);
    }
}

fn emit_stats(
    sink: &logging::Sink,
    format: logging::LogFormat,
    one_line: &Option<report::OneLine>,
    snap: &StatsSnapshot,
    view: report::View,
    level: tracing::Level,
) {
    let text = match one_line {
        Some(one) => one.render(snap, view),
        None => report::block(snap, view),
    };
    let extra = format.json.then(|| report::json(snap, view));
    logging::raw_line(sink, format, &level, &text, extra);
}
