//! What the listing, hashing and housekeeping commands share: opening a path with
//! the filters applied as `copy` applies them, walking it, local times for Go-style
//! layouts ([`ferry_core::timefmt`]), JSON strings and number fields (so output matches
//! rclone's byte for byte), and hashing.

use std::sync::Arc;
use std::time::SystemTime;

use chrono::{DateTime, Local, Offset};
use ferry_core::timefmt::Clock;
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
            flat: false,
        },
        file: src.file,
    })
}

impl Listing {
    pub fn walker(&self) -> Walker {
        Walker::new(self.backend.clone(), self.select.clone(), self.opts.clone())
    }

    /// A walker that may use one recursive listing (object stores: key order, memory
    /// O(page)), for commands that hold nothing per directory — as rclone's `ListR`.
    pub fn flat_walker(&self) -> Walker {
        let opts = WalkOptions {
            flat: true,
            ..self.opts.clone()
        };
        Walker::new(self.backend.clone(), self.select.clone(), opts)
    }
}

/// Makes the entries' provisional mtimes exact (a request each, some at once), for
/// listings that print modification times, as rclone does. Returns the failures, each
/// logged (the entry keeps its listed time).
pub async fn exact_mtimes(backend: &dyn Backend, entries: &mut [Entry]) -> u64 {
    use futures::stream::{self, StreamExt};
    use std::sync::atomic::{AtomicU64, Ordering};
    let failed = AtomicU64::new(0);
    stream::iter(entries.iter_mut().filter(|e| e.mtime_provisional))
        .for_each_concurrent(ferry_engine::EXACT_WIDTH, |e| {
            let failed = &failed;
            async move {
                if let Err(err) = ferry_core::exact_mtime(backend, e).await {
                    tracing::error!("{}: Failed to read modification time: {err}", e.path);
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
        .await;
    failed.into_inner()
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
    Err(fail(code, exit::failed_with(cmd, errors, &last)))
}

/// A directory's size as rclone reports it: the inode's size on local disk, what the
/// backend listed (an S3 prefix: 0), or -1.
pub fn dir_size(entry: &Entry) -> i64 {
    entry.dir_size.map_or(-1, |size| size as i64)
}

/// An entry's metadata (`-M`) as its backend reports it, sorted by key; `None` where the
/// backend keeps none. A directory without metadata of its own (an object store's
/// prefix) is `None`, not an error; a file whose metadata can't be read is reported and
/// counted in `errors`.
pub async fn metadata_of(
    backend: &dyn Backend,
    entry: &Entry,
    errors: &mut u64,
) -> Option<Vec<(String, String)>> {
    if !backend.features().caps.metadata.read {
        return None;
    }
    match backend.metadata(&entry.path).await {
        Ok(m) => m.map(|m| {
            m.iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        }),
        Err(_) if entry.is_dir() => None,
        Err(err) => {
            tracing::error!("{}: Failed to read metadata: {err}", entry.path);
            *errors += 1;
            None
        }
    }
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
    // A kind the backend doesn't have (or --download) is had by reading the object
    // through once; the backend gives the others (a local file read once for all).
    let supported = backend.features().semantics.hashes;
    let read_through = download || missing.iter().any(|k| !supported.contains(*k));
    let set: HashSet = missing.iter().copied().collect();
    let computed = if read_through {
        read_hashes(backend, &entry.path, set).await?
    } else {
        backend.hashes(&entry.path, set).await?
    };
    for k in missing {
        if let Some(v) = computed.get(k) {
            out.set(k, v.to_owned());
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

/// A time on the local zone's clock, as rclone prints listing times.
pub fn local(t: SystemTime) -> Clock {
    let offset = DateTime::<Local>::from(t).offset().fix().local_minus_utc();
    Clock::at(t, offset)
}

/// JSON text as Go's encoder writes it: `&`, `<`, `>`, U+2028 and U+2029 escaped (they
/// can only occur inside strings, so the whole text can be escaped at once).
pub fn go_escaped(json: &str) -> String {
    json.replace('&', "\\u0026")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
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

    #[test]
    fn json_strings_and_number_fields() {
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
