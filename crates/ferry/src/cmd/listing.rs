//! What the listing, hashing and housekeeping commands share: opening a path with
//! the filters applied as `copy` applies them, walking it, Go-style time layouts and
//! JSON strings (so output matches rclone's byte for byte), and hashing.

use std::sync::Arc;
use std::time::SystemTime;

use chrono::{DateTime, Datelike, Local, Offset, Timelike};
use ferry_core::units::size_suffix;
use ferry_core::{Backend, Entry, ErrorKind, HashKind, HashSet, Hashes, MultiHasher, RelPath};
use ferry_engine::{Select, WalkOptions, WalkReport, Walker};
use tokio::io::AsyncReadExt;

use crate::args::FilterArgs;
use crate::exit::{self, fail};
use crate::{selection, Globals};

/// A path opened for listing: the backend, the selection and how deep to go.
pub struct Listing {
    pub backend: Arc<dyn Backend>,
    pub select: Arc<dyn Select>,
    pub opts: WalkOptions,
    /// Set when the argument named a single file.
    pub file: Option<String>,
}

/// How deep a listing goes: `--max-depth` wins (0 is unlimited, as in rclone's
/// listings), `--recursive=false` means 1, else unlimited when the command recurses.
pub fn depth(filters: &FilterArgs, recursive: bool) -> Option<usize> {
    match filters.max_depth {
        0 => None,
        d if d > 0 => Some(d as usize),
        _ if filters.recursive == Some(false) => Some(1),
        _ if recursive => None,
        _ => Some(1),
    }
}

/// Opens `arg` with the filter flags; the depth limit is applied by the walk (so the
/// directories at the last level are shown, as rclone shows them).
pub async fn open(
    g: &Globals,
    arg: &str,
    filters: &FilterArgs,
    recursive: bool,
) -> anyhow::Result<Listing> {
    let mut f = filters.clone();
    let max_depth = depth(&f, recursive);
    f.max_depth = -1;
    f.recursive = None;
    let (select, _) = selection::build(&f)?;
    let src = g.remotes.open_source(arg).await?;
    Ok(Listing {
        backend: src.backend,
        select,
        opts: WalkOptions {
            max_depth,
            width: 8,
            only_name: src.file.clone(),
        },
        file: src.file,
    })
}

impl Listing {
    pub fn walker(&self) -> Walker {
        Walker::new(self.backend.clone(), self.select.clone(), self.opts.clone())
    }
}

/// The exit for a walk's root failure (a missing directory is 3).
pub fn walk_error(cmd: &str, e: ferry_core::Error) -> anyhow::Error {
    let code = match e.kind() {
        ErrorKind::DirNotFound => exit::DIR_NOT_FOUND,
        k => exit::code_for_kind(k, e.is_temporary()),
    };
    fail(code, format!("Failed to {cmd}: {e}"))
}

/// The exit code after a walk that met `errors` more errors (rclone's "Failed to ls
/// with N errors").
pub fn finish(cmd: &str, report: &WalkReport, extra_errors: u64) -> anyhow::Result<i32> {
    let errors = report.errors + extra_errors;
    if errors == 0 {
        return Ok(exit::SUCCESS);
    }
    let (code, last) = match &report.last_error {
        Some(e) => (
            exit::code_for_kind(e.kind(), e.is_temporary()),
            e.to_string(),
        ),
        None => (exit::ERROR, "see the errors above".to_owned()),
    };
    Err(fail(
        code,
        format!("Failed to {cmd} with {errors} errors: last error was: {last}"),
    ))
}

/// A directory's size as rclone's local backend reports it (the inode's size), or -1.
pub fn dir_size(backend: &dyn Backend, entry: &Entry) -> i64 {
    backend
        .local_path(&entry.path)
        .and_then(|p| std::fs::metadata(p).ok())
        .map_or(-1, |m| m.len() as i64)
}

/// rclone's local metadata for an entry (`mode`, `uid`, `gid`, `rdev` for devices,
/// `atime`, `mtime`, `btime`), sorted by key; `None` where the entry isn't a local
/// file. Extended attributes (rclone's user keys) are not read yet.
#[cfg(unix)]
pub fn local_metadata(backend: &dyn Backend, entry: &Entry) -> Option<Vec<(String, String)>> {
    use std::os::unix::fs::MetadataExt;
    let path = backend.local_path(&entry.path)?;
    let m = std::fs::symlink_metadata(path).ok()?;
    let time = |secs: i64, nanos: i64| -> String {
        let t = if secs >= 0 {
            SystemTime::UNIX_EPOCH + std::time::Duration::new(secs as u64, nanos as u32)
        } else {
            SystemTime::UNIX_EPOCH - std::time::Duration::from_secs(secs.unsigned_abs())
                + std::time::Duration::from_nanos(nanos as u64)
        };
        go_format(&local(t), "2006-01-02T15:04:05.999999999Z07:00")
    };
    let mut out = vec![
        ("atime".to_owned(), time(m.atime(), m.atime_nsec())),
        ("gid".to_owned(), m.gid().to_string()),
        ("mode".to_owned(), format!("{:o}", m.mode())),
        ("mtime".to_owned(), time(m.mtime(), m.mtime_nsec())),
        ("uid".to_owned(), m.uid().to_string()),
    ];
    if let Ok(b) = m.created() {
        out.push((
            "btime".to_owned(),
            go_format(&local(b), "2006-01-02T15:04:05.999999999Z07:00"),
        ));
    }
    let rdev = m.rdev();
    if rdev != 0 {
        let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
        let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
        out.push(("rdev".to_owned(), format!("{:x}", (major << 32) | minor)));
    }
    out.sort();
    Some(out)
}

#[cfg(not(unix))]
pub fn local_metadata(_backend: &dyn Backend, _entry: &Entry) -> Option<Vec<(String, String)>> {
    None
}

/// A string map as Go's `encoding/json` writes it (keys sorted).
pub fn json_map(pairs: &[(String, String)]) -> String {
    let body: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}:{}", json_string(k), json_string(v)))
        .collect();
    format!("{{{}}}", body.join(","))
}

/// The hashes of one file: values the listing already carries, the rest computed. A
/// local file is read once for all kinds; other backends are asked kind by kind
/// (they may know them without a download). `download` always reads the data.
pub async fn hashes_of(
    backend: &dyn Backend,
    entry: &Entry,
    kinds: &[HashKind],
    download: bool,
) -> ferry_core::Result<Hashes> {
    let mut out = Hashes::default();
    let mut missing = Vec::new();
    for &k in kinds {
        match entry.hashes.get(k) {
            Some(v) if !download => out.set(k, v.to_owned()),
            _ => missing.push(k),
        }
    }
    if missing.is_empty() {
        return Ok(out);
    }
    let supported = backend.features().hashes;
    let read_once = download
        || backend.local_path(&entry.path).is_some()
        || missing.iter().any(|k| !supported.contains(*k));
    if read_once {
        let set: HashSet = missing.iter().copied().collect();
        let computed = read_hashes(backend, &entry.path, set).await?;
        for k in missing {
            if let Some(v) = computed.get(k) {
                out.set(k, v.to_owned());
            }
        }
    } else {
        for k in missing {
            if let Some(v) = backend.hash(&entry.path, k).await? {
                out.set(k, v);
            }
        }
    }
    Ok(out)
}

/// Reads an object through and hashes it.
pub async fn read_hashes(
    backend: &dyn Backend,
    path: &RelPath,
    kinds: HashSet,
) -> ferry_core::Result<Hashes> {
    let mut reader = backend.open(path, 0, None).await?;
    let mut hasher = MultiHasher::new(kinds);
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = reader.read(&mut buf).await.map_err(|e| {
            ferry_core::Error::io("failed to read for hashing", e).with_path(path.to_string())
        })?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finish())
}

/// A time in the local zone.
pub fn local(t: SystemTime) -> DateTime<Local> {
    DateTime::<Local>::from(t)
}

/// Go's named layouts as rclone's `--time-format` accepts them.
pub fn named_layout(name: &str) -> &str {
    match name {
        "Layout" => "01/02 03:04:05PM '06 -0700",
        "ANSIC" => "Mon Jan _2 15:04:05 2006",
        "UnixDate" => "Mon Jan _2 15:04:05 MST 2006",
        "RubyDate" => "Mon Jan 02 15:04:05 -0700 2006",
        "RFC822" => "02 Jan 06 15:04 MST",
        "RFC822Z" => "02 Jan 06 15:04 -0700",
        "RFC850" => "Monday, 02-Jan-06 15:04:05 MST",
        "RFC1123" => "Mon, 02 Jan 2006 15:04:05 MST",
        "RFC1123Z" => "Mon, 02 Jan 2006 15:04:05 -0700",
        "RFC3339" => "2006-01-02T15:04:05Z07:00",
        "RFC3339Nano" => "2006-01-02T15:04:05.999999999Z07:00",
        "Kitchen" => "3:04PM",
        "Stamp" => "Jan _2 15:04:05",
        "StampMilli" => "Jan _2 15:04:05.000",
        "StampMicro" => "Jan _2 15:04:05.000000",
        "StampNano" => "Jan _2 15:04:05.000000000",
        "DateTime" => "2006-01-02 15:04:05",
        "DateOnly" => "2006-01-02",
        "TimeOnly" => "15:04:05",
        "MacFriendlyTime" | "macfriendlytime" | "mac" => "2006-01-02 0304PM",
        "YYYYMMDD" => "20060102",
        other => other,
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Formats `t` with a Go reference layout (`2006-01-02 15:04:05.000000000`).
pub fn go_format(t: &DateTime<Local>, layout: &str) -> String {
    let mut out = String::new();
    let b = layout.as_bytes();
    let mut i = 0;
    let at = |i: usize, s: &str| layout[i..].starts_with(s);
    while i < b.len() {
        let (text, used): (String, usize) = match b[i] {
            b'J' if at(i, "January") => (MONTHS[t.month0() as usize].to_owned(), 7),
            b'J' if at(i, "Jan") => (MONTHS[t.month0() as usize][..3].to_owned(), 3),
            b'M' if at(i, "Monday") => (day_name(t).to_owned(), 6),
            b'M' if at(i, "Mon") => (day_name(t)[..3].to_owned(), 3),
            b'M' if at(i, "MST") => (zone_name(t), 3),
            b'0' if at(i, "002") => (format!("{:03}", t.ordinal()), 3),
            b'0' if i + 1 < b.len() && (b'1'..=b'6').contains(&b[i + 1]) => {
                let v = match b[i + 1] {
                    b'1' => t.month(),
                    b'2' => t.day(),
                    b'3' => hour12(t),
                    b'4' => t.minute(),
                    b'5' => t.second(),
                    _ => (t.year().rem_euclid(100)) as u32,
                };
                (format!("{v:02}"), 2)
            }
            b'1' if at(i, "15") => (format!("{:02}", t.hour()), 2),
            b'1' => (t.month().to_string(), 1),
            b'2' if at(i, "2006") => (format!("{:04}", t.year()), 4),
            b'2' => (t.day().to_string(), 1),
            b'_' if at(i, "__2") => (format!("{:>3}", t.ordinal()), 3),
            b'_' if at(i, "_2") && !at(i, "_2006") => (format!("{:>2}", t.day()), 2),
            b'3' => (hour12(t).to_string(), 1),
            b'4' => (t.minute().to_string(), 1),
            b'5' => (t.second().to_string(), 1),
            b'P' if at(i, "PM") => (if t.hour() >= 12 { "PM" } else { "AM" }.to_owned(), 2),
            b'p' if at(i, "pm") => (if t.hour() >= 12 { "pm" } else { "am" }.to_owned(), 2),
            b'-' | b'Z' => match zone_layout(&layout[i..]) {
                Some((n, colons, parts)) => (zone(t, b[i] == b'Z', colons, parts), n),
                None => ((b[i] as char).to_string(), 1),
            },
            b'.' | b',' if i + 1 < b.len() && (b[i + 1] == b'0' || b[i + 1] == b'9') => {
                let digit = b[i + 1];
                let mut j = i + 1;
                while j < b.len() && b[j] == digit {
                    j += 1;
                }
                if j < b.len() && b[j].is_ascii_digit() {
                    ((b[i] as char).to_string(), 1)
                } else {
                    let n = j - i - 1;
                    (
                        fraction(t.nanosecond(), n, digit == b'9', b[i] as char),
                        j - i,
                    )
                }
            }
            _ => {
                let ch = layout[i..].chars().next().unwrap_or(' ');
                (ch.to_string(), ch.len_utf8())
            }
        };
        out.push_str(&text);
        i += used;
    }
    out
}

fn day_name(t: &DateTime<Local>) -> &'static str {
    DAYS[t.weekday().num_days_from_sunday() as usize]
}

fn hour12(t: &DateTime<Local>) -> u32 {
    match t.hour() % 12 {
        0 => 12,
        h => h,
    }
}

fn zone_name(t: &DateTime<Local>) -> String {
    let secs = t.offset().fix().local_minus_utc();
    if secs == 0 {
        return "UTC".to_owned();
    }
    let (sign, abs) = if secs < 0 { ('-', -secs) } else { ('+', secs) };
    if abs % 3600 == 0 {
        format!("{sign}{:02}", abs / 3600)
    } else {
        format!("{sign}{:02}{:02}", abs / 3600, abs % 3600 / 60)
    }
}

/// A zone token at the start of `s`: (length, colons, number of parts).
fn zone_layout(s: &str) -> Option<(usize, bool, usize)> {
    let rest = &s[1..];
    for (pat, colons, parts) in [
        ("07:00:00", true, 3),
        ("070000", false, 3),
        ("07:00", true, 2),
        ("0700", false, 2),
        ("07", false, 1),
    ] {
        if rest.starts_with(pat) {
            return Some((pat.len() + 1, colons, parts));
        }
    }
    None
}

fn zone(t: &DateTime<Local>, z: bool, colons: bool, parts: usize) -> String {
    let secs = t.offset().fix().local_minus_utc();
    if z && secs == 0 {
        return "Z".to_owned();
    }
    let (sign, abs) = if secs < 0 { ('-', -secs) } else { ('+', secs) };
    let (h, m, s) = (abs / 3600, abs % 3600 / 60, abs % 60);
    let sep = if colons { ":" } else { "" };
    match parts {
        1 => format!("{sign}{h:02}"),
        2 => format!("{sign}{h:02}{sep}{m:02}"),
        _ => format!("{sign}{h:02}{sep}{m:02}{sep}{s:02}"),
    }
}

fn fraction(nanos: u32, digits: usize, trim: bool, sep: char) -> String {
    let all = format!("{nanos:09}");
    let mut frac = all[..digits.min(9)].to_owned();
    if trim {
        while frac.ends_with('0') {
            frac.pop();
        }
        if frac.is_empty() {
            return String::new();
        }
    }
    format!("{sep}{frac}")
}

/// A JSON string as Go's `encoding/json` writes it (`<`, `>`, `&` escaped too).
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A size as rclone's listings print it, right-aligned in `width`; with
/// `--human-readable`, its binary suffix form (`1.500Ki`) in 9 columns instead, which
/// fit the longest (`999.999Ei`).
pub fn size_field(n: i64, human: bool, width: usize) -> String {
    if !human {
        return format!("{n:>width$}");
    }
    let text = match n {
        n if n < 0 => format!("-{}", size_suffix(n.unsigned_abs())),
        n => size_suffix(n as u64),
    };
    format!("{text:>9}")
}

/// A count as rclone's listings print it, right-aligned in `width`; with
/// `--human-readable`, its decimal suffix form (`1.234k`) in 8 columns.
pub fn count_field(n: i64, human: bool, width: usize) -> String {
    if !human {
        return format!("{n:>width$}");
    }
    let text = match n {
        n if n < 0 => format!("-{}", count_suffix(n.unsigned_abs())),
        n => count_suffix(n as u64),
    };
    format!("{text:>8}")
}

/// rclone's decimal count suffix (`1.234k`).
pub fn count_suffix(n: u64) -> String {
    let mut v = n as f64;
    let mut suffix = "";
    for s in ["k", "M", "G", "T", "P", "E"] {
        if v < 1000.0 {
            break;
        }
        v /= 1000.0;
        suffix = s;
    }
    if suffix.is_empty() || v.fract() == 0.0 {
        format!("{v:.0}{suffix}")
    } else {
        format!("{v:.3}{suffix}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn go_layouts() {
        let t = Local
            .timestamp_opt(1_704_164_645, 123_456_789)
            .single()
            .unwrap();
        let base = go_format(&t, "2006-01-02 15:04:05");
        assert_eq!(base.len(), 19);
        assert!(go_format(&t, "2006-01-02 15:04:05.000000000").ends_with(".123456789"));
        assert!(go_format(&t, "15:04:05.999").ends_with(".123"));
        assert_eq!(go_format(&t, "20060102").len(), 8);
        assert!(go_format(&t, "Jan _2").starts_with("Jan "));
        assert_eq!(json_string("a<\"b\"\n"), "\"a\\u003c\\\"b\\\"\\n\"");
        assert_eq!(count_suffix(999), "999");
        assert_eq!(count_suffix(1234), "1.234k");
        assert_eq!(count_suffix(2000), "2k");
        assert_eq!(size_field(1536, false, 9), "     1536");
        assert_eq!(size_field(1536, true, 12), "  1.500Ki");
        assert_eq!(size_field(-1, true, 12), "       -1");
        assert_eq!(size_field(1 << 20, true, 9), "      1Mi");
        assert_eq!(count_field(-1, false, 9), "       -1");
        assert_eq!(count_field(-1, true, 9), "      -1");
        assert_eq!(count_field(12_345, true, 9), " 12.345k");
    }
}
