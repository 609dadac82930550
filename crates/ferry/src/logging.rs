//! Log lines formatted as rclone formats them (`2006/01/02 15:04:05 INFO  : path: msg`),
//! or as JSON objects with `--use-json-log`.
//!
//! rclone's NOTICE level maps to tracing's WARN.

use std::fmt;
use std::io::Write;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use tracing::{Event, Level as TLevel, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

use crate::args::Level;
use crate::settings;

/// Where log lines go: stderr, a file, or (with `-P`) above the progress display.
#[derive(Clone)]
pub struct Sink {
    inner: Arc<Mutex<SinkKind>>,
}

enum SinkKind {
    Stderr,
    File(crate::logfile::LogFile),
    Progress(Arc<Mutex<crate::progress::Screen>>),
}

impl Sink {
    pub fn write_line(&self, line: &str) {
        let mut inner = self.inner.lock().expect("log sink");
        match &mut *inner {
            SinkKind::Stderr => {
                let _ = std::io::stderr().write_all(line.as_bytes());
            }
            SinkKind::File(f) => {
                let _ = f.write_line(line.as_bytes());
            }
            SinkKind::Progress(screen) => screen.lock().expect("screen").print_above(line),
        }
    }

    /// Routes stderr lines above the live display while it is shown.
    pub fn attach_progress(&self, screen: Arc<Mutex<crate::progress::Screen>>) {
        let mut inner = self.inner.lock().expect("log sink");
        if matches!(*inner, SinkKind::Stderr) {
            *inner = SinkKind::Progress(screen);
        }
    }

    pub fn detach_progress(&self) {
        let mut inner = self.inner.lock().expect("log sink");
        if matches!(*inner, SinkKind::Progress(_)) {
            *inner = SinkKind::Stderr;
        }
    }

    pub fn is_file(&self) -> bool {
        matches!(*self.inner.lock().expect("log sink"), SinkKind::File(_))
    }
}

/// One buffered line, written whole on drop so concurrent lines never interleave.
pub struct LineWriter {
    sink: Sink,
    buf: Vec<u8>,
}

impl Write for LineWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            self.sink.write_line(&String::from_utf8_lossy(&self.buf));
        }
    }
}

impl<'a> MakeWriter<'a> for Sink {
    type Writer = LineWriter;
    fn make_writer(&'a self) -> LineWriter {
        LineWriter {
            sink: self.clone(),
            buf: Vec::with_capacity(128),
        }
    }
}

pub fn level_name(level: &TLevel) -> &'static str {
    match *level {
        TLevel::ERROR => "ERROR",
        TLevel::WARN => "NOTICE",
        TLevel::INFO => "INFO",
        _ => "DEBUG",
    }
}

/// rclone's `--log-format`: which parts lead each text line, or JSON lines instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogFormat {
    date: bool,
    time: bool,
    micro: bool,
    utc: bool,
    longfile: bool,
    shortfile: bool,
    pid: bool,
    nolevel: bool,
    pub json: bool,
}

impl Default for LogFormat {
    fn default() -> Self {
        LogFormat::parse("date,time").expect("default log format")
    }
}

impl LogFormat {
    const CHOICES: &'static str =
        "date, time, microseconds, UTC, longfile, shortfile, pid, nolevel, json";

    /// Parses a comma-separated list, as `--log-format date,time,microseconds`.
    pub fn parse(s: &str) -> Result<LogFormat, String> {
        let mut f = LogFormat {
            date: false,
            time: false,
            micro: false,
            utc: false,
            longfile: false,
            shortfile: false,
            pid: false,
            nolevel: false,
            json: false,
        };
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let flag = match part.to_ascii_lowercase().as_str() {
                "date" => &mut f.date,
                "time" => &mut f.time,
                "microseconds" => &mut f.micro,
                "utc" => &mut f.utc,
                "longfile" => &mut f.longfile,
                "shortfile" => &mut f.shortfile,
                "pid" => &mut f.pid,
                "nolevel" => &mut f.nolevel,
                "json" => &mut f.json,
                _ => return Err(format!("invalid choice {part:?}: use {}", Self::CHOICES)),
            };
            *flag = true;
        }
        Ok(f)
    }

    /// The start of a text line up to and including the message separator.
    fn prefix(&self, level: &TLevel, file: Option<(&str, u32)>) -> String {
        self.prefix_named(level_name(level), file)
    }

    /// [`prefix`](Self::prefix) for a level given by its rclone name (CRITICAL has no
    /// tracing level).
    fn prefix_named(&self, level: &str, file: Option<(&str, u32)>) -> String {
        use fmt::Write as _;
        let mut out = String::new();
        if self.date || self.time {
            let now = if self.utc {
                time::OffsetDateTime::now_utc()
            } else {
                time::OffsetDateTime::now_local()
                    .unwrap_or_else(|_| time::OffsetDateTime::now_utc())
            };
            if self.date {
                let _ = write!(
                    out,
                    "{:04}/{:02}/{:02} ",
                    now.year(),
                    u8::from(now.month()),
                    now.day()
                );
            }
            if self.time {
                let _ = write!(
                    out,
                    "{:02}:{:02}:{:02}",
                    now.hour(),
                    now.minute(),
                    now.second()
                );
                if self.micro {
                    let _ = write!(out, ".{:06}", now.microsecond());
                }
                out.push(' ');
            }
        }
        if let Some((path, line)) = file.filter(|_| self.longfile || self.shortfile) {
            let path = if self.longfile {
                path
            } else {
                path.rsplit('/').next().unwrap_or(path)
            };
            let _ = write!(out, "{path}:{line}: ");
        }
        if self.pid {
            let _ = write!(out, "[{}] ", std::process::id());
        }
        if !self.nolevel {
            let _ = write!(out, "{level:<6}: ");
        }
        out
    }
}

fn rfc3339_now() -> String {
    let now = time::OffsetDateTime::now_local().unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Collects an event's message.
#[derive(Default)]
struct Message(String);

impl tracing::field::Visit for Message {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        }
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            use fmt::Write as _;
            let _ = write!(self.0, "{value:?}");
        }
    }
}

/// Where `--dump` logs from.
const DUMP_TARGET: &str = "ferry_core::dump";

/// An ERROR logged from here shows as rclone's CRITICAL (a remote that can't be opened
/// at all).
pub const CRITICAL_TARGET: &str = "ferry::critical";

struct RcloneFormat {
    format: LogFormat,
}

impl<S, N> FormatEvent<S, N> for RcloneFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut msg = Message::default();
        event.record(&mut msg);
        // Names in messages may hold control characters: never a forged or broken line.
        // `--dump` blocks are the one multi-line message, as rclone prints them; each of
        // their lines is shown safely.
        let msg = if event.metadata().target() == DUMP_TARGET {
            let lines: Vec<_> = msg.0.split('\n').map(ferry_core::shown::name).collect();
            Message(lines.join("\n"))
        } else {
            Message(ferry_core::shown::name(&msg.0).into_owned())
        };
        let level = match event.metadata().target() {
            CRITICAL_TARGET => "CRITICAL",
            _ => level_name(event.metadata().level()),
        };
        if self.format.json {
            let obj = serde_json::json!({
                "time": rfc3339_now(),
                "level": level.to_ascii_lowercase(),
                "msg": msg.0,
                "source": event.metadata().target(),
            });
            writeln!(writer, "{obj}")
        } else {
            let meta = event.metadata();
            let file = meta.file().zip(meta.line());
            writeln!(writer, "{}{}", self.format.prefix_named(level, file), msg.0)
        }
    }
}

/// Installs the global subscriber; returns the sink so output can be coordinated.
pub fn init(log: &settings::Log) -> anyhow::Result<Sink> {
    let kind = match &log.file {
        Some(path) => SinkKind::File(
            crate::logfile::LogFile::open(path, log.rotation.clone()).with_context(|| {
                format!(
                    "can't open --log-file {}: check the directory exists and is writable",
                    path.display()
                )
            })?,
        ),
        None => SinkKind::Stderr,
    };
    let sink = Sink {
        inner: Arc::new(Mutex::new(kind)),
    };
    let max = tracing_level(log.level);
    // "ferry" also covers every ferry_* crate (targets match by prefix); other
    // crates (russh, hyper, the AWS SDK) only speak up with warnings.
    let filter = tracing_subscriber::filter::Targets::new()
        .with_default(TLevel::WARN)
        .with_target("ferry", max);
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .event_format(RcloneFormat { format: log.format })
                .with_writer(sink.clone()),
        )
        .with(filter)
        .init();
    Ok(sink)
}

/// Writes one line in the log format directly (for the final stats block).
pub fn raw_line(
    sink: &Sink,
    format: LogFormat,
    level: &TLevel,
    msg: &str,
    extra: Option<serde_json::Value>,
) {
    let line = if format.json {
        let mut obj = serde_json::json!({
            "time": rfc3339_now(),
            "level": level_name(level).to_ascii_lowercase(),
            "msg": msg,
            "source": "ferry",
        });
        if let (Some(extra), Some(map)) = (extra, obj.as_object_mut()) {
            if let Some(e) = extra.as_object() {
                map.extend(e.clone());
            }
        }
        format!("{obj}\n")
    } else {
        format!("{}{msg}\n", format.prefix(level, None))
    };
    sink.write_line(&line);
}

/// The tracing level ferry logs an rclone level at (NOTICE is tracing's WARN).
pub fn tracing_level(level: Level) -> TLevel {
    match level {
        Level::Error => TLevel::ERROR,
        Level::Notice => TLevel::WARN,
        Level::Info => TLevel::INFO,
        Level::Debug => TLevel::DEBUG,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_format_parts_appear_in_rclones_order() {
        let f = LogFormat::parse("pid,shortfile,nolevel").unwrap();
        let line = f.prefix(&TLevel::INFO, Some(("crates/x/src/a.rs", 7)));
        assert_eq!(line, format!("a.rs:7: [{}] ", std::process::id()));
        let f = LogFormat::parse("time,microseconds,UTC").unwrap();
        let line = f.prefix(&TLevel::ERROR, None);
        // "HH:MM:SS.micros ERROR : "
        assert_eq!(line.len(), "00:00:00.000000 ERROR : ".len(), "{line:?}");
        assert!(line.ends_with(" ERROR : "), "{line:?}");
        assert_eq!(
            LogFormat::parse("").unwrap().prefix(&TLevel::WARN, None),
            "NOTICE: "
        );
    }

    #[test]
    fn an_unknown_log_format_names_the_choices() {
        let e = LogFormat::parse("date,bogus").unwrap_err();
        assert!(e.contains("\"bogus\"") && e.contains("microseconds"), "{e}");
        assert!(LogFormat::parse("json").unwrap().json);
    }
}
